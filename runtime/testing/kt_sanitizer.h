/*
 * kt_sanitizer.h - which sanitizer this file is being compiled under.
 *
 * Defines KT_ASAN under AddressSanitizer and KT_TSAN under ThreadSanitizer,
 * for GCC (__SANITIZE_ADDRESS__, __SANITIZE_THREAD__) and Clang
 * (__has_feature) alike. The kit's test helpers change what they do there:
 * the sanitizer reports some faults itself, or needs its own defaults.
 */
#ifndef KT_SANITIZER_H
#define KT_SANITIZER_H

#if defined(__SANITIZE_ADDRESS__)
#define KT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KT_ASAN 1
#endif
#endif

#if defined(__SANITIZE_THREAD__)
#define KT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KT_TSAN 1
#endif
#endif

#endif
