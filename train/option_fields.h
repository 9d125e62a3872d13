// The training options, once: each row is a flag of trm-train (the official training script's
// name where it has one), the TrainOptions member it sets, where TrainOptions::ToJson records it,
// and the flag's help. trm-train's flags, their overrides, the presets (train/options.cc) and the
// recorded options are all generated from this one list, so a new option is one new row.
//
//   X(flag, member, json, help)
//     json: Top (a top-level key), Data (under "data"), Arch (recorded by TrmConfig::ToJson under
//     "arch") or None (not recorded: where this rank writes and how it runs, not what it trains).
#pragma once

// clang-format off
#define TRM_TRAIN_OPTION_FIELDS(X)                                                                \
  X(out_dir, out_dir, None, "Output directory (checkpoints, metrics.jsonl, curves.svg)")          \
  X(init_from, init_from, Top,                                                                    \
    "Start from these weights (a checkpoint directory or official .pt)")                          \
  X(resume, resume, None, "true|false: continue from out_dir's LATEST checkpoint (default true)") \
  X(device, device, Top, "auto | cpu | cuda | cuda:N")                                            \
  X(dtype, dtype, Top, "auto (bfloat16 on CUDA, float32 on CPU) | float32 | bfloat16")            \
  X(threads, threads, None, "CPU threads for torch (0: default)")                                 \
  X(seed, seed, Top, "Run seed (network init, data, exploration)")                                \
  X(steps, steps, Top, "Total training steps (overrides epochs)")                                 \
  X(epochs, epochs, Top, "Epochs over a fixed training set")                                      \
  X(global_batch_size, global_batch_size, Top, "Batch rows")                                      \
  X(eval_interval, eval_interval, Top, "Steps between evaluations (0: at the end)")               \
  X(checkpoint_interval, checkpoint_interval, Top, "Steps between checkpoints (0: at the end)")   \
  X(log_interval, log_interval, None, "Steps between progress lines")                             \
  X(eval_size, eval_size, Data, "Held-out examples")                                              \
  X(eval_batch_size, eval_batch_size, None, "Evaluation batch")                                   \
  X(halt_threshold, halt_threshold, Top,                                                          \
    "Halting threshold the model is served at: written to the checkpoint, and evaluation halts "  \
    "at it (0: the engine's default, 0.5)")                                                       \
  X(train_size, train_size, Data, "Generated data: 0 = fresh puzzles forever, N = a fixed set")   \
  X(data_dir, data_dir, Data, "Official-format dataset directory (train/ and test/)")             \
  X(task, data.task, Data, "Generated data: sudoku | maze")                                       \
  X(sudoku_min_givens, data.sudoku_min_givens, Data, "Generated sudoku: fewest givens")           \
  X(sudoku_max_givens, data.sudoku_max_givens, Data, "Generated sudoku: most givens")             \
  X(sudoku_min_guesses, data.sudoku_min_guesses, Data, "Generated sudoku: solver guesses at least") \
  X(sudoku_max_guesses, data.sudoku_max_guesses, Data,                                            \
    "Generated sudoku: solver guesses at most (-1: any)")                                         \
  X(maze_side, data.maze_side, Data, "Generated maze side (5..30)")                               \
  X(maze_min_path, data.maze_min_path, Data, "Generated maze: shortest path at least")            \
  X(dihedral_aug, data.dihedral_aug, Data,                                                        \
    "true|false: generated examples in a random one of 8 orientations")                           \
  X(optimizer, optimizer, Top, "adam_atan2 | adamw")                                              \
  X(loss, loss, Top, "stablemax | softmax")                                                       \
  X(lr, lr, Top, "Learning rate")                                                                 \
  X(lr_min_ratio, lr_min_ratio, Top, "Cosine floor as a fraction of lr (1: constant)")            \
  X(lr_warmup_steps, lr_warmup_steps, Top, "Linear warm-up steps")                                \
  X(beta1, beta1, Top, "Adam beta1")                                                              \
  X(beta2, beta2, Top, "Adam beta2")                                                              \
  X(weight_decay, weight_decay, Top, "Decoupled weight decay of the network")                     \
  X(puzzle_emb_lr, puzzle_emb_lr, Top, "Sign-SGD learning rate of the puzzle embeddings")         \
  X(puzzle_emb_weight_decay, puzzle_emb_weight_decay, Top,                                        \
    "Sign-SGD weight decay of the puzzle embeddings")                                             \
  X(ema, ema, Top, "true|false: keep an EMA of the weights for evaluation and saving")            \
  X(ema_rate, ema_rate, Top, "EMA rate")                                                          \
  X(H_cycles, arch.H_cycles, Arch, "arch.H_cycles")                                               \
  X(L_cycles, arch.L_cycles, Arch, "arch.L_cycles")                                               \
  X(L_layers, arch.L_layers, Arch, "arch.L_layers")                                               \
  X(hidden_size, arch.hidden_size, Arch, "arch.hidden_size")                                      \
  X(num_heads, arch.num_heads, Arch, "arch.num_heads")                                            \
  X(expansion, arch.expansion, Arch, "arch.expansion")                                            \
  X(pos_encodings, arch.pos_encodings, Arch, "arch.pos_encodings: rope | learned | none")         \
  X(mlp_t, arch.mlp_t, Arch, "arch.mlp_t: true|false")                                            \
  X(puzzle_emb_ndim, arch.puzzle_emb_ndim, Arch, "arch.puzzle_emb_ndim (0: none)")                \
  X(puzzle_emb_len, arch.puzzle_emb_len, Arch, "arch.puzzle_emb_len")                             \
  X(halt_max_steps, arch.halt_max_steps, Arch, "arch.halt_max_steps")                             \
  X(halt_exploration_prob, arch.halt_exploration_prob, Arch, "arch.halt_exploration_prob")        \
  X(no_ACT_continue, arch.no_ACT_continue, Arch,                                                  \
    "arch.no_ACT_continue: true|false (false: q_continue bootstrap)")                             \
  X(rope_theta, arch.rope_theta, Arch, "arch.rope_theta")                                         \
  X(rms_norm_eps, arch.rms_norm_eps, Arch, "arch.rms_norm_eps")

// What only a preset sets, never a flag: the token layout follows the task (an official dataset's
// metadata, or a generated maze's side, fixes it).
#define TRM_TRAIN_PRESET_ONLY_FIELDS(X)    \
  X(seq_len, arch.seq_len, Arch, "")       \
  X(vocab_size, arch.vocab_size, Arch, "")
// clang-format on
