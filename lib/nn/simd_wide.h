/* simd_wide.h: one wide variant of simd_body.h, included by simd.c inside
 * a GCC target pragma, with VW (lanes), VIOTA (the lane indices), VFMA_INTRIN
 * (the target's fused multiply-add) and SIMD_FN (the variant's name suffix)
 * defined. The vector types get the variant's own names (vf8, vi8, ...),
 * since each variant's are distinct types in one translation unit. */
#define SIMD_CAT2(a, b) a##b
#define SIMD_CAT(a, b) SIMD_CAT2(a, b)
#define vf SIMD_CAT(vf, VW)
#define vi SIMD_CAT(vi, VW)
#define vfu SIMD_CAT(vfu, VW)
typedef float vf __attribute__((vector_size(VW * 4)));
typedef float vfu __attribute__((vector_size(VW * 4), aligned(4), may_alias));
typedef int32_t vi __attribute__((vector_size(VW * 4)));
#undef VFMA
#define VFMA(a, b, c) ((vf)VFMA_INTRIN((a), (b), (c)))
#include "nn/simd_body.h"
#undef SIMD_FN
#undef VW
#undef VIOTA
#undef VFMA_INTRIN
#undef vf
#undef vi
#undef vfu
