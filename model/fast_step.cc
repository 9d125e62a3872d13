#include "model/fast_step.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

namespace trm::model::fast {

// One thread's scratch: a row tile's intermediates, sized once for the model.
struct FastStep::ThreadBuffers {
  AlignedArray<float> qkv;       // [tile, 3 hidden]
  AlignedArray<float> att;       // [tile, hidden] attention output; also the injection
  AlignedArray<float> tmp;       // [tile, max(hidden, seq)] projection outputs
  AlignedArray<float> gate_up;   // [tile, 2 max(inner, inner_t)]
  AlignedArray<float> act;       // [tile, max(inner, inner_t)]
  AlignedArray<float> scores;    // [tile, seq rounded up to 16]
  AlignedArray<float> inv_sum;   // [tile]
  AlignedArray<float> seq_in;    // [tile, seq] mlp_t: hidden channels as rows
  AlignedArray<uint32_t> pairs;  // bfloat16 pairs of a GEMM's left operand
  StepProfile profile;           // this thread's share of a profiled step
};

namespace {
int RoundUp(int x, int m) { return (x + m - 1) / m * m; }

// The next tile of [i0, end): as many tiles as `tile` rows need, all of about the same size.
int NextTile(int64_t i0, int64_t end, int tile) {
  const int64_t tiles = (end - i0 + tile - 1) / tile;
  return static_cast<int>((end - i0 + tiles - 1) / tiles);
}

// f(first_row, rows) for each tile of [r0, r1).
template <typename F>
void ForEachTile(int64_t r0, int64_t r1, int tile, F&& f) {
  for (int64_t i0 = r0; i0 < r1;) {
    const int rows = NextTile(i0, r1, tile);
    f(i0, rows);
    i0 += rows;
  }
}
}  // namespace

FastStep::FastStep(const TrmConfig& config, NetWeights weights, bool bf16_math, Isa isa)
    : config_(config), w_(std::move(weights)), bf16_math_(bf16_math), k_(KernelsFor(isa)) {
  seq_ = config.FullSeqLen();
  hidden_ = config.hidden_size;
  heads_ = config.num_heads;
  head_dim_ = config.HeadDim();
  prefix_ = config.PuzzleEmbLen();
  inner_ = TrmConfig::SwiGluInner(hidden_, config.expansion);
  inner_t_ = config.mlp_t ? TrmConfig::SwiGluInner(seq_, config.expansion) : 0;
  // Row tiles whose widest intermediate (the fused gate/up projection) stays near 512 KB, the
  // half of a 1 MB L2 the weights' panels do not need; a multiple of the GEMM's 6-row blocks.
  const int widest = 2 * std::max(inner_, inner_t_);
  tile_rows_ = std::clamp((128 * 1024 / widest) / 6 * 6, 12, 48);
  key_panels_ = (seq_ + 63) / 64;
  value_width_ = std::min(64, RoundUp(head_dim_, 16));
  value_panels_ = (head_dim_ + value_width_ - 1) / value_width_;
  key_stride_ = int64_t{key_panels_} * head_dim_ * 64;
  value_stride_ = int64_t{value_panels_} * seq_ * value_width_;
}

FastStep::~FastStep() = default;

double FastStep::FlopsPerPuzzle(const TrmConfig& c) {
  const double s = c.FullSeqLen(), d = c.hidden_size;
  const double inner = TrmConfig::SwiGluInner(c.hidden_size, c.expansion);
  double block = 2 * s * d * 3 * inner;  // mlp: gate/up (2 inner) and down (inner).
  if (c.mlp_t) {
    block += 2 * d * s * 3 * TrmConfig::SwiGluInner(c.FullSeqLen(), c.expansion);
  } else {
    block += 2 * s * d * 4 * d + 4 * s * s * d;  // qkv and o; q k^T and p v over all heads.
  }
  const double blocks = static_cast<double>(c.H_cycles) * (c.L_cycles + 1) * c.L_layers;
  return blocks * block + 2 * c.seq_len * d * c.vocab_size + 2 * d * 2;
}

void FastStep::Reserve(int n, int threads) {
  if (n > capacity_ && !config_.mlp_t) {
    keys_ = AlignedArray<float>(2 * int64_t{n} * heads_ * key_stride_);
    values_ = AlignedArray<float>(2 * int64_t{n} * heads_ * value_stride_);
    queries_ = AlignedArray<float>(int64_t{n} * seq_ * hidden_);
  }
  capacity_ = std::max(capacity_, n);
  const int64_t tile = tile_rows_;
  const int inner = std::max(inner_, inner_t_);
  const int seq_pad = RoundUp(seq_, 16);
  const int widest_k = std::max({hidden_, inner_, inner_t_, seq_});
  while (static_cast<int>(threads_.size()) < threads) {
    ThreadBuffers b;
    b.qkv = AlignedArray<float>(tile * 3 * hidden_);
    b.att = AlignedArray<float>(tile * hidden_);
    b.tmp = AlignedArray<float>(tile * std::max(hidden_, seq_));
    b.gate_up = AlignedArray<float>(tile * 2 * inner);
    b.act = AlignedArray<float>(tile * inner);
    b.scores = AlignedArray<float>(tile * seq_pad);
    b.inv_sum = AlignedArray<float>(tile);
    if (config_.mlp_t) b.seq_in = AlignedArray<float>(tile * seq_);
    b.pairs = AlignedArray<uint32_t>(tile * ((widest_k + 1) / 2 + 16));
    threads_.push_back(std::move(b));
  }
}

void FastStep::Run(int n, float* z_h, float* z_l, const float* x, float* logits, float* q,
                   int threads, StepProfile* profile) {
  threads = std::max(1, threads);
  Reserve(n, threads);
  profiling_ = profile != nullptr;
  const auto start =
      profiling_ ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
  if (threads == 1) {
    RunThread(0, 1, n, z_h, z_l, x, logits, q);
  } else {
#pragma omp parallel num_threads(threads)
    RunThread(omp_get_thread_num(), omp_get_num_threads(), n, z_h, z_l, x, logits, q);
  }
  if (!profiling_) return;
  profiling_ = false;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (int t = 0; t < threads; ++t) {
    profile->Add(threads_[t].profile);
    threads_[t].profile = StepProfile();
  }
  profile->step_seconds += seconds;
  profile->thread_seconds += seconds * threads;
  ++profile->steps;
}

StepProfile* FastStep::Prof(ThreadBuffers& tb) const { return profiling_ ? &tb.profile : nullptr; }

void FastStep::Barrier(ThreadBuffers& tb, int threads) {
  OpTimer timer(Prof(tb), StepOp::kBarrier);
  barrier_.Wait(threads);
}

void FastStep::RunThread(int t, int threads, int n, float* z_h, float* z_l, const float* x,
                         float* logits, float* q) {
  const int64_t rows = int64_t{n} * seq_;
  const int64_t r0 = rows * t / threads, r1 = rows * (t + 1) / threads;
  int parity = 0;
  // One pass through the shared blocks (official ReasoningModule): hidden += injection, then
  // every block, all in place on this thread's rows.
  auto level = [&](float* hidden, const float* a, const float* b) {
    Inject(threads_[t], r0, r1, hidden, a, b);
    for (const BlockWeights& w : w_.blocks) {
      if (config_.mlp_t) {
        MlpTBlock(t, threads, n, r0, r1, hidden, w);
      } else {
        parity ^= 1;
        AttentionBlock(t, threads, r0, r1, hidden, w, parity);
      }
    }
  };
  for (int h = 0; h < config_.H_cycles; ++h) {
    for (int l = 0; l < config_.L_cycles; ++l) level(z_l, z_h, x);  // z_L <- net(z_L, z_H + x)
    level(z_h, z_l, nullptr);                                       // z_H <- net(z_H, z_L)
  }
  Heads(t, r0, r1, z_h, logits, q);
}

void FastStep::Linear(StepOp op, const float* a, int64_t lda, int m, const PackedWeight& w,
                      float* c, int64_t ldc, ThreadBuffers& tb, bool round) const {
  if (m <= 0) return;
  OpTimer timer(Prof(tb), op, 2.0 * m * w.n() * w.k());
  if (w.format() == PackedWeight::Format::kBfloat16Pairs) {
    // The pairs scratch holds one row tile; longer operands (the lm_head over a 30x30 maze's 900
    // answer positions, which overran it and crashed) go through a tile at a time.
    for (int i0 = 0; i0 < m; i0 += tile_rows_) {
      k_.gemm_bf16(a + i0 * lda, lda, std::min(tile_rows_, m - i0), w.bf16(), c + i0 * ldc, ldc,
                   tb.pairs.data());
    }
  } else {
    k_.gemm(a, lda, m, w.f32(), c, ldc);
  }
  // The official bfloat16 Linear returns bfloat16.
  if (round) {
    for (int i = 0; i < m; ++i) k_.round_bf16(c + i * ldc, w.n());
  }
}

void FastStep::Inject(ThreadBuffers& tb, int64_t r0, int64_t r1, float* hidden, const float* a,
                      const float* b) const {
  const int64_t d = hidden_;
  OpTimer timer(Prof(tb), StepOp::kInject);
  if (b == nullptr) {
    if (r1 > r0) k_.add(hidden + r0 * d, a + r0 * d, hidden + r0 * d, (r1 - r0) * d, bf16_math_);
    return;
  }
  // hidden + (a + b), in the official order: the injection z_H + x is a tensor of its own.
  ForEachTile(r0, r1, tile_rows_, [&](int64_t i0, int rows) {
    const int64_t n = int64_t{rows} * d;
    k_.add(a + i0 * d, b + i0 * d, tb.att.data(), n, bf16_math_);
    k_.add(hidden + i0 * d, tb.att.data(), hidden + i0 * d, n, bf16_math_);
  });
}

void FastStep::AttentionBlock(int t, int threads, int64_t r0, int64_t r1, float* h,
                              const BlockWeights& w, int parity) {
  ThreadBuffers& tb = threads_[t];
  const int d = hidden_, hd = head_dim_, s_len = seq_;
  const int seq_pad = RoundUp(seq_, 16);
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const bool rope = !w_.cos.empty();
  auto keys = [&](int64_t p, int head) {
    return keys_.data() + ((parity * capacity_ + p) * heads_ + head) * key_stride_;
  };
  auto values = [&](int64_t p, int head) {
    return values_.data() + ((parity * capacity_ + p) * heads_ + head) * value_stride_;
  };

  // 1. q, k, v of this thread's rows; k and v go where every thread's attention reads them.
  ForEachTile(r0, r1, tile_rows_, [&](int64_t i0, int rows) {
    Linear(StepOp::kQkv, h + i0 * d, d, rows, w.qkv, tb.qkv.data(), 3 * d, tb, bf16_math_);
    OpTimer timer(Prof(tb), StepOp::kRotary);
    for (int i = 0; i < rows; ++i) {
      const int64_t row = i0 + i, p = row / s_len;
      const int s = static_cast<int>(row % s_len);
      const float* qkv = tb.qkv.data() + int64_t{i} * 3 * d;
      const float* k_row = qkv + d;
      float* q_row = queries_.data() + row * d;
      if (rope) {
        const float* cos = w_.cos.data() + int64_t{s} * hd;
        const float* sin = w_.sin.data() + int64_t{s} * hd;
        k_.rotary(qkv, cos, sin, hd, heads_, scale, bf16_math_, q_row);
        k_.rotary(k_row, cos, sin, hd, heads_, 1.0f, bf16_math_, tb.att.data());
        k_row = tb.att.data();
      } else {
        for (int j = 0; j < d; ++j) q_row[j] = qkv[j] * scale;
      }
      const float* v_row = qkv + 2 * d;
      for (int head = 0; head < heads_; ++head) {
        const float* kh = k_row + head * hd;
        const float* vh = v_row + head * hd;
        float* kt = keys(p, head) + (s / 64) * int64_t{hd} * 64 + s % 64;
        for (int j = 0; j < hd; ++j) kt[j * 64] = kh[j];
        float* vt = values(p, head) + int64_t{s} * value_width_;
        for (int j0 = 0; j0 < hd; j0 += value_width_) {
          std::memcpy(vt + (j0 / value_width_) * int64_t{s_len} * value_width_, vh + j0,
                      sizeof(float) * std::min(value_width_, hd - j0));
        }
      }
    }
  });
  Barrier(tb, threads);

  // 2. Per row tile: attention, o_proj, residual + norm, MLP, residual + norm.
  ForEachTile(r0, r1, tile_rows_, [&](int64_t i0, int rows) {
    for (int64_t a = i0; a < i0 + rows;) {  // runs of rows in one puzzle
      const int64_t p = a / s_len;
      const int64_t b = std::min<int64_t>(i0 + rows, (p + 1) * s_len);
      const int cnt = static_cast<int>(b - a);
      float* out = tb.att.data() + (a - i0) * d;
      const double head_flops = 2.0 * cnt * s_len * hd;
      for (int head = 0; head < heads_; ++head) {
        {
          OpTimer timer(Prof(tb), StepOp::kScores, head_flops);
          const Panels k_panels{keys(p, head), hd, s_len, 64, int64_t{hd} * 64};
          k_.gemm(queries_.data() + a * d + head * hd, d, cnt, k_panels, tb.scores.data(), seq_pad);
        }
        {
          OpTimer timer(Prof(tb), StepOp::kSoftmax);
          k_.softmax_rows(tb.scores.data(), seq_pad, cnt, s_len, tb.inv_sum.data());
        }
        OpTimer timer(Prof(tb), StepOp::kValues, head_flops);
        const Panels v_panels{values(p, head), s_len, hd, value_width_,
                              int64_t{s_len} * value_width_};
        k_.gemm(tb.scores.data(), seq_pad, cnt, v_panels, out + head * hd, d);
        k_.scale_rows(out + head * hd, d, cnt, hd, tb.inv_sum.data());
      }
      a = b;
    }
    if (bf16_math_) {
      OpTimer timer(Prof(tb), StepOp::kValues);
      k_.round_bf16(tb.att.data(), int64_t{rows} * d);
    }
    Linear(StepOp::kOutProj, tb.att.data(), d, rows, w.o, tb.tmp.data(), d, tb, bf16_math_);
    {
      OpTimer timer(Prof(tb), StepOp::kAddNorm);
      k_.add_rms_norm(h + i0 * d, d, tb.tmp.data(), d, rows, d, eps(), bf16_math_);
    }
    Mlp(tb, h + i0 * d, rows, w);
  });
}

void FastStep::Mlp(ThreadBuffers& tb, float* h, int rows, const BlockWeights& w) const {
  const int d = hidden_;
  Linear(StepOp::kGateUp, h, d, rows, w.gate_up, tb.gate_up.data(), 2 * inner_, tb, bf16_math_);
  {
    OpTimer timer(Prof(tb), StepOp::kSwiGlu);
    k_.swiglu(tb.gate_up.data(), 2 * inner_, rows, inner_, tb.act.data(), inner_, bf16_math_);
  }
  Linear(StepOp::kDown, tb.act.data(), inner_, rows, w.down, tb.tmp.data(), d, tb, bf16_math_);
  OpTimer timer(Prof(tb), StepOp::kAddNorm);
  k_.add_rms_norm(h, d, tb.tmp.data(), d, rows, d, eps(), bf16_math_);
}

void FastStep::MlpTBlock(int t, int threads, int n, int64_t r0, int64_t r1, float* h,
                         const BlockWeights& w) {
  ThreadBuffers& tb = threads_[t];
  const int d = hidden_, s_len = seq_;
  // 1. Across the sequence, per hidden channel (official: the block transposes to [B, D, S]);
  //    channels are split between threads, so every row must be complete first.
  Barrier(tb, threads);
  const int64_t units = int64_t{n} * d;
  const int64_t u0 = units * t / threads, u1 = units * (t + 1) / threads;
  for (int64_t u = u0; u < u1;) {
    const int64_t p = u / d;
    const int c0 = static_cast<int>(u % d);
    const int nc = NextTile(c0, std::min<int64_t>(d, c0 + u1 - u), tile_rows_);
    float* in = tb.seq_in.data();
    float* base = h + p * s_len * d + c0;
    {
      OpTimer timer(Prof(tb), StepOp::kMixTranspose);
      for (int s = 0; s < s_len; ++s) {
        for (int c = 0; c < nc; ++c) in[int64_t{c} * s_len + s] = base[int64_t{s} * d + c];
      }
    }
    Linear(StepOp::kMixGateUp, in, s_len, nc, w.mlp_t_gate_up, tb.gate_up.data(), 2 * inner_t_, tb,
           bf16_math_);
    {
      OpTimer timer(Prof(tb), StepOp::kSwiGlu);
      k_.swiglu(tb.gate_up.data(), 2 * inner_t_, nc, inner_t_, tb.act.data(), inner_t_, bf16_math_);
    }
    Linear(StepOp::kMixDown, tb.act.data(), inner_t_, nc, w.mlp_t_down, tb.tmp.data(), s_len, tb,
           bf16_math_);
    {
      OpTimer timer(Prof(tb), StepOp::kAddNorm);
      k_.add_rms_norm(in, s_len, tb.tmp.data(), s_len, nc, s_len, eps(), bf16_math_);
    }
    OpTimer timer(Prof(tb), StepOp::kMixTranspose);
    for (int s = 0; s < s_len; ++s) {
      for (int c = 0; c < nc; ++c) base[int64_t{s} * d + c] = in[int64_t{c} * s_len + s];
    }
    u += nc;
  }
  Barrier(tb, threads);
  // 2. The MLP over hidden, per row.
  ForEachTile(r0, r1, tile_rows_, [&](int64_t i0, int rows) { Mlp(tb, h + i0 * d, rows, w); });
}

void FastStep::Heads(int t, int64_t r0, int64_t r1, const float* z_h, float* logits, float* q) {
  ThreadBuffers& tb = threads_[t];
  const int d = hidden_, s_len = seq_, vocab = config_.vocab_size;
  for (int64_t a = r0; a < r1;) {
    const int64_t p = a / s_len;
    const int64_t b = std::min<int64_t>(r1, (p + 1) * s_len);
    const int64_t s0 = a - p * s_len, s1 = b - p * s_len;
    // lm_head on the answer positions (official: logits[:, puzzle_emb_len:]).
    const int64_t first = std::max<int64_t>(s0, prefix_);
    if (s1 > first) {
      Linear(StepOp::kHeads, z_h + (p * s_len + first) * d, d, static_cast<int>(s1 - first),
             w_.lm_head, logits + (p * config_.seq_len + first - prefix_) * vocab, vocab, tb,
             bf16_math_);
    }
    // q_head on position 0, with its bias (one rounding in bfloat16, as a fused linear).
    if (s0 == 0) {
      float out[2];
      Linear(StepOp::kHeads, z_h + p * s_len * d, d, 1, w_.q_head, out, 2, tb, false);
      for (int j = 0; j < 2; ++j) {
        const float bias = bf16_math_ ? RoundBf16(w_.q_bias[j]) : w_.q_bias[j];
        q[p * 2 + j] = bf16_math_ ? RoundBf16(out[j] + bias) : out[j] + bias;
      }
    }
    a = b;
  }
}

}  // namespace trm::model::fast
