#include "puzzle/sudoku_solver.h"

#include <array>
#include <bit>
#include <cstdint>

namespace trm::puzzle {
namespace {

constexpr uint16_t kAll = 0x1FF;  // Bit d-1 stands for digit d.

// The 27 units (9 rows, 9 columns, 9 boxes) and each cell's 20 peers, computed once.
struct Tables {
  std::array<std::array<uint8_t, 9>, 27> units;
  std::array<std::array<uint8_t, 20>, 81> peers;

  Tables() {
    for (int u = 0; u < 9; ++u) {
      for (int k = 0; k < 9; ++k) {
        units[u][k] = static_cast<uint8_t>(u * 9 + k);
        units[9 + u][k] = static_cast<uint8_t>(k * 9 + u);
        units[18 + u][k] = static_cast<uint8_t>(((u / 3) * 3 + k / 3) * 9 + (u % 3) * 3 + k % 3);
      }
    }
    for (int i = 0; i < 81; ++i) {
      int n = 0;
      for (int j = 0; j < 81; ++j) {
        if (j == i) continue;
        bool same_row = i / 9 == j / 9, same_col = i % 9 == j % 9;
        bool same_box = (i / 27 == j / 27) && ((i % 9) / 3 == (j % 9) / 3);
        if (same_row || same_col || same_box) peers[i][n++] = static_cast<uint8_t>(j);
      }
    }
  }
};

const Tables& GetTables() {
  static const Tables tables;
  return tables;
}

struct State {
  std::array<uint16_t, 81> cand;  // Candidate digits per cell; one bit once placed.
  std::array<uint8_t, 81> value;  // 0 until placed.
  int unsolved = 81;
};

class Search {
 public:
  Search(const SudokuSolveOptions& options, SudokuSolveResult& result)
      : t_(GetTables()), options_(options), result_(result) {}

  // Places digit bit `bit` at `cell` and removes it from the peers. False on contradiction.
  bool Place(State& s, int cell, uint16_t bit) const {
    if (!(s.cand[cell] & bit)) return false;
    s.cand[cell] = bit;
    s.value[cell] = static_cast<uint8_t>(std::countr_zero(bit) + 1);
    --s.unsolved;
    for (uint8_t p : t_.peers[cell]) {
      if (s.cand[p] & bit) {
        if (s.value[p]) return false;  // A placed peer already holds this digit.
        s.cand[p] &= static_cast<uint16_t>(~bit);
        if (!s.cand[p]) return false;
      }
    }
    return true;
  }

  // Naked and hidden singles to a fixed point. False on contradiction.
  bool Propagate(State& s) const {
    for (;;) {
      bool changed = false;
      for (int i = 0; i < 81; ++i) {
        if (s.value[i]) continue;
        uint16_t m = s.cand[i];
        if (!m) return false;
        if (!(m & (m - 1))) {
          if (!Place(s, i, m)) return false;
          changed = true;
        }
      }
      if (changed) continue;
      for (const auto& unit : t_.units) {
        uint16_t once = 0, twice = 0, placed = 0;
        for (uint8_t c : unit) {
          uint16_t m = s.cand[c];
          twice |= once & m;
          once |= m;
          if (s.value[c]) placed |= m;
        }
        if (once != kAll) return false;  // Some digit has no place left in this unit.
        uint16_t hidden = once & ~twice & ~placed;
        while (hidden) {
          uint16_t bit = hidden & -hidden;
          hidden &= hidden - 1;
          for (uint8_t c : unit) {
            if (s.cand[c] & bit) {
              if (!Place(s, c, bit)) return false;
              break;
            }
          }
          changed = true;
        }
      }
      if (!changed) return true;
    }
  }

  // Depth-first search; returns true when it must stop (enough solutions, or aborted).
  bool Run(State& s) {
    if (s.unsolved == 0) {
      if (result_.num_solutions == 0) {
        for (int i = 0; i < 81; ++i) result_.solution.cells[i] = s.value[i];
      }
      return ++result_.num_solutions >= options_.max_solutions;
    }
    // Branch on the unsolved cell with the fewest candidates.
    int best = -1, best_count = 10;
    for (int i = 0; i < 81; ++i) {
      if (s.value[i]) continue;
      int n = std::popcount(s.cand[i]);
      if (n < best_count) {
        best = i;
        best_count = n;
        if (n == 2) break;
      }
    }
    uint16_t m = s.cand[best];
    while (m) {
      uint16_t bit = m & -m;
      m &= m - 1;
      if (options_.max_guesses > 0 && result_.guesses >= options_.max_guesses) {
        result_.aborted = true;
        return true;
      }
      ++result_.guesses;
      State next = s;
      if (Place(next, best, bit) && Propagate(next)) {
        if (Run(next)) return true;
      } else {
        ++result_.backtracks;
      }
    }
    return false;
  }

 private:
  const Tables& t_;
  const SudokuSolveOptions& options_;
  SudokuSolveResult& result_;
};

}  // namespace

SudokuSolveResult SolveSudoku(const SudokuGrid& puzzle, const SudokuSolveOptions& options) {
  SudokuSolveResult result;
  SudokuSolveOptions opts = options;
  if (opts.max_solutions < 1) opts.max_solutions = 1;
  Search search(opts, result);
  State s;
  s.cand.fill(kAll);
  s.value.fill(0);
  for (int i = 0; i < 81; ++i) {
    int d = puzzle.cells[i];
    if (d == 0) continue;
    if (d > 9 || !search.Place(s, i, static_cast<uint16_t>(1u << (d - 1)))) return result;
  }
  if (!search.Propagate(s)) return result;
  search.Run(s);
  return result;
}

}  // namespace trm::puzzle
