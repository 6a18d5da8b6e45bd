/* fuzz_ops.c — libFuzzer target: the fuzz input is an operation list for
 * the same interpreter and oracle as tests/test_model.c (tests/model_ops.h),
 * so the fuzzer looks for inputs where the heap crashes, trips ASan/UBSan,
 * fails rc_heap_check or does something the oracle says it must not.
 *
 * Input: byte 0 picks the thresholds, byte 1 the policy, fault injection
 * (bit 7: fail allocations from byte 2 % 64 + 1 on) and a memory limit
 * (bit 4: 4 KiB + byte 2 * 256 bytes), then each 4 bytes are one
 * operation: code, a, b, c (see model_ops.h; arguments are taken modulo
 * what exists, so every input is a valid program; MOP_HOOK makes user code
 * call back into the API).  The Makefile caps inputs at 1 KiB (255
 * operations).
 *
 *   make fuzz [FUZZ_SECONDS=60]      build (clang) and fuzz from tests/fuzz/corpus
 *   build/fuzz/fuzz_ops CRASH_FILE   replay one input, printing its trace
 */
#include "../model_ops.h"

#define FUZZ_MAX_OPS 2000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void decode_config(const uint8_t *data, size_t size, m_config *cfg)
{
    static const size_t t0s[] = {1, 2, 5, 10, 25, 50, 100, 700};
    memset(cfg, 0, sizeof *cfg);
    uint8_t b0 = size > 0 ? data[0] : 0, b1 = size > 1 ? data[1] : 0, b2 = size > 2 ? data[2] : 0;
    cfg->threshold[0] = t0s[b0 % 8];
    cfg->threshold[1] = 1 + (b0 >> 3) % 8;
    cfg->threshold[2] = 1 + (b1 & 7);
    cfg->policy = (b1 >> 3) & 1 ? RC_POLICY_ADAPTIVE : RC_POLICY_PYTHON;
    cfg->fail_after = (b1 & 0x80) ? 1 + (unsigned long)(b2 % 64) : 0;
    cfg->memory_limit = (b1 & 0x10) ? 4096 + (size_t)b2 * 256 : 0;
    cfg->verify_every = 1;     /* everything compared after every operation */
    cfg->heap_check_every = 4; /* rc_heap_check after every 4th */
    cfg->max_reports = 5;
    cfg->out = stderr;
}

static size_t decode_ops(const uint8_t *data, size_t size, m_op *ops)
{
    size_t n = 0;
    for (size_t i = 3; i + 4 <= size && n < FUZZ_MAX_OPS; i += 4, n++) {
        ops[n].code = data[i] % MOP_COUNT;
        ops[n].a = data[i + 1];
        /* chains and rings of at most 70: past the 64 frees that nest
         * before the deferred list, short enough to keep the fuzzer fast */
        if (ops[n].code == MOP_CHAIN || ops[n].code == MOP_RING) ops[n].a %= 70;
        ops[n].b = data[i + 2];
        ops[n].c = data[i + 3];
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static m_op ops[FUZZ_MAX_OPS];
    m_config cfg;
    decode_config(data, size, &cfg);
    size_t n = decode_ops(data, size, ops);
    /* A single-input replay (./fuzz_ops FILE) prints the trace. */
    static int trace = -1;
    if (trace < 0) trace = getenv("FUZZ_TRACE") != NULL;
    cfg.trace = trace;
    if (m_run(&cfg, ops, n, NULL, NULL) != 0) {
        fprintf(stderr, "fuzz_ops: the heap and the oracle disagree; thresholds %zu/%zu/%zu, "
                        "policy %d, fail_alloc_after %lu, memory_limit %zu; as a regression "
                        "case:\n", cfg.threshold[0], cfg.threshold[1], cfg.threshold[2],
                cfg.policy, cfg.fail_after, cfg.memory_limit);
        m_print_ops(stderr, ops, n);
        abort();
    }
    return 0;
}
