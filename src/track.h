/* track.h — the one place that tells a memory checker when allocator memory
 * changes state.  Modelled on mimalloc's track.h: alloc.c calls these macros
 * at every transition and never names a tool itself.
 *
 *   rc__track_pool_new(pool)            an allocator is born
 *   rc__track_pool_destroy(pool)        ... and dies: every block it still
 *                                       holds is forgotten at once
 *   rc__track_block_alloc(pool, p, n)   block p of n bytes becomes live
 *                                       (contents unspecified)
 *   rc__track_block_free(pool, p, n)    block p becomes free: no access
 *   rc__track_mem_noaccess(p, n)        memory no one may touch (unused pages)
 *   rc__track_mem_defined(p, n)         the allocator itself (or a white-box
 *                                       test) is about to read/write p..p+n
 *                                       of free memory: the free-list link
 *   rc__track_unmap(p, n)               p..p+n goes back to the system
 *
 * Tools, chosen at compile time:
 *   AddressSanitizer (-fsanitize=address, detected by __SANITIZE_ADDRESS__ or
 *     __has_feature(address_sanitizer)): free blocks and unused page memory
 *     are poisoned, so touching a freed pooled object is reported
 *     ("use-after-poison").  Memory is unpoisoned before munmap, so whoever
 *     maps that range next starts clean.
 *   valgrind memcheck (-DRC_VALGRIND=1; header-only client requests, free
 *     when the program does not run under valgrind): each allocator is a
 *     mempool, each block a chunk of it (VALGRIND_MEMPOOL_ALLOC / _FREE), so
 *     invalid accesses and leaked blocks are reported like malloc's; the
 *     pool is destroyed with the allocator, so a program that destroys its
 *     heaps reports no leak.
 *   neither: every macro is a no-op and costs nothing.
 * If both are requested, ASan wins (valgrind cannot run ASan binaries).
 * Every macro is a statement.
 */
#ifndef RC_TRACK_H
#define RC_TRACK_H

#if defined(__SANITIZE_ADDRESS__)
#  define RC__ASAN 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define RC__ASAN 1
#  endif
#endif

#if defined(RC__ASAN)

#include <sanitizer/asan_interface.h>
#define RC_TRACK_ENABLED 1
#define RC_TRACK_TOOL    "asan"
#define rc__track_pool_new(pool)          do { (void)(pool); } while (0)
#define rc__track_pool_destroy(pool)      do { (void)(pool); } while (0)
#define rc__track_block_alloc(pool, p, n) \
    do { (void)(pool); ASAN_UNPOISON_MEMORY_REGION(p, n); } while (0)
#define rc__track_block_free(pool, p, n)  \
    do { (void)(pool); ASAN_POISON_MEMORY_REGION(p, n); } while (0)
#define rc__track_mem_noaccess(p, n)      ASAN_POISON_MEMORY_REGION(p, n)
#define rc__track_mem_defined(p, n)       ASAN_UNPOISON_MEMORY_REGION(p, n)
#define rc__track_unmap(p, n)             ASAN_UNPOISON_MEMORY_REGION(p, n)

#elif defined(RC_VALGRIND) && RC_VALGRIND

#include <valgrind/valgrind.h>
#include <valgrind/memcheck.h>
#define RC_TRACK_ENABLED 1
#define RC_TRACK_TOOL    "valgrind"
#define rc__track_pool_new(pool)          VALGRIND_CREATE_MEMPOOL(pool, 0, 0)
#define rc__track_pool_destroy(pool)      VALGRIND_DESTROY_MEMPOOL(pool)
#define rc__track_block_alloc(pool, p, n) VALGRIND_MEMPOOL_ALLOC(pool, p, n)
#define rc__track_block_free(pool, p, n)  \
    do { (void)(n); VALGRIND_MEMPOOL_FREE(pool, p); } while (0)
#define rc__track_mem_noaccess(p, n)      \
    do { (void)VALGRIND_MAKE_MEM_NOACCESS(p, n); } while (0)
#define rc__track_mem_defined(p, n)       \
    do { (void)VALGRIND_MAKE_MEM_DEFINED(p, n); } while (0)
#define rc__track_unmap(p, n)             do { (void)(p); (void)(n); } while (0)

#else

#define RC_TRACK_ENABLED 0
#define RC_TRACK_TOOL    "none"
#define rc__track_pool_new(pool)          do { (void)(pool); } while (0)
#define rc__track_pool_destroy(pool)      do { (void)(pool); } while (0)
#define rc__track_block_alloc(pool, p, n) do { (void)(pool); (void)(p); (void)(n); } while (0)
#define rc__track_block_free(pool, p, n)  do { (void)(pool); (void)(p); (void)(n); } while (0)
#define rc__track_mem_noaccess(p, n)      do { (void)(p); (void)(n); } while (0)
#define rc__track_mem_defined(p, n)       do { (void)(p); (void)(n); } while (0)
#define rc__track_unmap(p, n)             do { (void)(p); (void)(n); } while (0)

#endif

#endif /* RC_TRACK_H */
