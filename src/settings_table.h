/*
 * Every config key, declared once (the inih "X-macro" pattern): the parser, the defaults, the
 * range checks, the INI writer and the help text are all generated from this table.
 *
 * X(section, name, kind, field, default, minimum, maximum, affects_result, doc)
 *   kind    INT (int64_t), REAL (double), POSREAL (double > minimum), SEED (uint64_t),
 *           PATH (char[RBM_PATH_MAX]), FORMAT (RbmDataFormat), SCALE (double, "auto" = 0),
 *           BOOL (int, true|false), BIAS_INIT (RbmVisibleBiasInit, zero|data),
 *           SPLIT (RbmSplit, rows|hidden),
 *           LIST (RbmIntList; each element within minimum..maximum)
 *   minimum/maximum apply to INT, REAL, POSREAL and SCALE; values are inclusive, except that
 *   POSREAL and SCALE values must be strictly greater than the minimum.
 *   affects_result is 1 for keys the trained model depends on; the others (thread count,
 *   output paths) are left out of the config a model records, so they never change its bytes.
 */
#define RBM_SETTINGS_TABLE(X)                                                                    \
    X("data", "train", PATH, train_path, "", 0, 0, 1,                                               \
      "training data: CSV, IDX (idx3-ubyte, plain or .gz) or .npy (relative paths: from the working directory)") \
    X("data", "format", FORMAT, format, "auto", 0, 0, 1,                                            \
      "auto|csv|idx|npy (auto: by extension, then by content)")                                  \
    X("data", "scale", SCALE, scale, "auto", 0, 1e300, 1,                                           \
      "divide every value by this (auto: 255 for 8-bit data, 1 otherwise); result in [0,1]")    \
    X("data", "limit", INT, limit, "0", 0, INT64_MAX, 1, "train on the first N rows (0 = all)")    \
    X("data", "validation", PATH, validation_path, "", 0, 0, 0,                                  \
      "held-out data, same columns, for the per-epoch monitors (empty = none)")                 \
    X("data", "validation_fraction", REAL, validation_fraction, "0", 0, 0.9, 1,                  \
      "or hold out this share of the rows (the last ones) as the validation set")              \
    X("model", "hidden", INT, hidden, "300", 1, 1 << 20, 1, "hidden units (the visible units are the data's columns)")                        \
    X("model", "init_std", POSREAL, init_std, "0.01", 0, 1e3, 1,                                   \
      "initial weights ~ N(0, init_std^2); hidden biases start at 0")                           \
    X("model", "visible_bias_init", BIAS_INIT, visible_bias_init, "zero", 0, 0, 1,               \
      "zero|data (data: log(p/(1-p)) of the training means, p clipped to [0.001, 0.999])")      \
    X("model", "layers", LIST, layers, "", 1, 1 << 20, 1,                                       \
      "a stack (DBN), e.g. 784,500,500,2000: visible units first; empty = one RBM of `hidden`") \
    X("train", "epochs", INT, epochs, "10", 1, 1 << 30, 1, "passes over the training data")                  \
    X("train", "batch_size", INT, batch_size, "100", 1, 1 << 20, 1,                                 \
      "rows per mini-batch; the last, partial batch is trained too")                             \
    X("train", "learning_rate", POSREAL, learning_rate, "0.1", 0, 1e6, 1, "step size of the parameter update")             \
    X("train", "momentum", REAL, momentum, "0.9", 0, 0.999999, 1,                                  \
      "velocity = momentum * velocity + gradient, in [0, 1)")                                   \
    X("train", "momentum_initial", REAL, momentum_initial, "0.5", 0, 0.999999, 1,                \
      "momentum up to momentum_switch_epoch, when that is set")                                 \
    X("train", "momentum_final", REAL, momentum_final, "0.9", 0, 0.999999, 1,                    \
      "momentum after momentum_switch_epoch, when that is set")                                 \
    X("train", "momentum_switch_epoch", INT, momentum_switch_epoch, "0", 0, 1 << 30, 1,          \
      "0 = `momentum` throughout; N = momentum_initial for epochs 1..N, then momentum_final")    \
    X("train", "learning_rate_decay", REAL, learning_rate_decay, "0", 0, 1e6, 1,                 \
      "epoch e uses learning_rate / (1 + decay * (e - 1))")                                     \
    X("train", "cd_steps", INT, cd_steps, "1", 1, 1000, 1, "Gibbs steps per negative phase (CD-k)") \
    X("train", "persistent", BOOL, persistent, "false", 0, 0, 1,                                 \
      "persistent CD: one chain per batch row, carried across mini-batches (sklearn's PCD)")    \
    X("train", "shuffle", BOOL, shuffle, "false", 0, 0, 1,                                       \
      "visit the rows in a new seeded order every epoch")                                       \
    X("train", "sparsity_target", REAL, sparsity_target, "0.1", 0, 1, 1,                         \
      "wanted mean activation of each hidden unit")                                             \
    X("train", "sparsity_cost", REAL, sparsity_cost, "0", 0, 1e6, 1,                             \
      "hidden bias step cost * (target - mean h0 probability) per batch (0 = off)")             \
    X("train", "layer_epochs", LIST, layer_epochs, "", 1, 1 << 30, 1,                            \
      "epochs for each RBM of a stack, e.g. 10,10,20 (empty = `epochs` for every layer)")       \
    X("train", "weight_decay", REAL, weight_decay, "0", 0, 1e6, 1, "L2 penalty on the weights")    \
    X("train", "seed", SEED, seed, "1", 0, 0, 1,                                                    \
      "random seed (0 to 2^64-1); the same seed gives the same bits")                           \
    X("train", "threads", INT, threads, "0", 0, 4096, 0,                                            \
      "worker threads (0 = all cores, at most one per unit of work of a batch); never changes the result")               \
    X("train", "chunk_rows", INT, chunk_rows, "50", 1, 1 << 20, 1,                                  \
      "rows of a mini-batch per sampling work unit; smaller lets more threads share a batch")   \
    X("train", "update_strips", INT, update_strips, "0", 0, 4096, 1,                             \
      "strips of W per batch: column strips (split = rows) or hidden-unit strips (split = hidden); 0 = from the model's size, a power of two near H*V/2^17") \
    X("train", "split", SPLIT, split, "hidden", 0, 0, 1,                                        \
      "hidden|rows: units of a batch are strips of hidden units (W stays split across the workers) or chunks of its rows (each worker reads all of W)") \
    X("train", "bit_counts", BOOL, bit_counts, "false", 0, 0, 1,                                 \
      "true: the gradient's positive part h0^T v0 (0/1 times 0/1) as bit counts, the negative part added after it, so the model's last bits differ from false; faster only with split = rows and AVX-512 (with split = hidden, AVX2 or AVX-512 and batches under 512 rows, false counts bits too, for the float32 bits)") \
    X("output", "model", PATH, model_path, "model.npz", 0, 0, 0,                                    \
      "where the trained model (.npz) goes; relative to the working directory")                 \
    X("output", "log", PATH, log_path, "", 0, 0, 0,                                                 \
      "JSON-lines log, one record per epoch (empty = none)")                                    \
    X("output", "checkpoint", PATH, checkpoint_path, "", 0, 0, 0,                                \
      "checkpoint file for --resume (empty = the model's path + .ckpt)")                        \
    X("output", "checkpoint_every", INT, checkpoint_every, "0", 0, 1 << 30, 0,                   \
      "write a checkpoint after every N epochs (0 = off)")                                      \
    X("output", "checkpoint_seconds", REAL, checkpoint_seconds, "300", 0, 1e9, 0,                \
      "also at the first batch boundary S seconds after the last one (0 = off)")                \
    X("output", "monitor_rows", INT, monitor_rows, "1000", 1, INT64_MAX, 0,                      \
      "training rows whose free energy is compared with the validation set's every epoch")
