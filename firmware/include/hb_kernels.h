/*
 * hilbench C runtime: int8 kernels with TFLM's integer semantics.
 *
 * Plain C99, no heap, no floats on the int8 path. Every quantization parameter
 * (multipliers, shifts, clamps, offsets) is precomputed on the host and arrives in the
 * per-op parameter structs below. Tensors are NHWC, row-major. One public function per
 * kernel file: firmware/kernels/ref/<op>.c holds the portable reference version.
 */
#ifndef HB_KERNELS_H
#define HB_KERNELS_H

#include <stdint.h>

typedef enum {
  HB_OK = 0,
  HB_ERROR = 1,
} hb_status;

/* Shape of a 4-D NHWC tensor (lower-rank tensors are padded with leading 1s). */
typedef struct {
  int32_t n, h, w, c;
} hb_dims;

#define HB_MAX_DIMS 6

/* CONV_2D (filter Cout x KH x KW x Cin) and DEPTHWISE_CONV_2D (filter 1 x KH x KW x Cout). */
typedef struct {
  hb_dims input, filter, output;
  int32_t stride_h, stride_w, dilation_h, dilation_w;
  int32_t pad_h, pad_w;           /* top/left padding; bottom/right is implied */
  int32_t depth_multiplier;       /* depthwise only */
  int32_t input_offset;           /* -input zero point */
  int32_t output_offset;          /* output zero point */
  int32_t act_min, act_max;
  const int8_t *filter_data;
  const int32_t *bias;            /* Cout values, or NULL */
  const int32_t *multiplier;      /* Cout values */
  const int32_t *shift;           /* Cout values, TFLM convention: >0 left, <0 right */
} hb_conv_params;

/* FULLY_CONNECTED: rows x depth times (units x depth)^T. */
typedef struct {
  int32_t rows, depth, units;
  int32_t input_offset, weights_offset, output_offset;
  int32_t act_min, act_max;
  const int8_t *weights;
  const int32_t *bias;            /* units values, or NULL */
  const int32_t *multiplier;      /* units values */
  const int32_t *shift;
  /* bias + input_offset * sum of the unit's weights (weights_offset 0), precomputed on the
   * host so that optimized kernels need no offset add per MAC; units values */
  const int32_t *folded_bias;
  /* Requantization without a 64-bit product (hilbench/codegen/requant_window.py), or NULL:
   * records of 8 values {lo, hi, mh, ml, ml_shift, neg, add, total_shift}: acc clamped to
   * [lo, hi], x = acc * mh + ((acc * ml) >> ml_shift) + 2^14, x += (x >> 31) & neg, and the
   * output is (x + add) >> total_shift, zero point included and within act_min..act_max.
   * Needs folded_bias. requant_stride is 0 (one record for all units) or 8 (per unit). */
  const int32_t *requant;
  int32_t requant_stride;
} hb_fc_params;

/* AVERAGE_POOL_2D and MAX_POOL_2D (same quantization in and out). */
typedef struct {
  hb_dims input, output;
  int32_t filter_h, filter_w, stride_h, stride_w, pad_h, pad_w;
  int32_t act_min, act_max;
} hb_pool_params;

/* ADD and MUL with broadcasting over up to HB_MAX_DIMS axes: element i of the output
 * reads a at sum(index[d] * a_stride[d]) (stride 0 on broadcast axes), likewise b. */
typedef struct {
  int32_t rank;
  int32_t out_dims[HB_MAX_DIMS];
  int32_t a_stride[HB_MAX_DIMS], b_stride[HB_MAX_DIMS];
  int32_t a_offset, b_offset, output_offset;
  int32_t left_shift;                         /* ADD only */
  int32_t a_multiplier, a_shift, b_multiplier, b_shift;  /* ADD only */
  int32_t output_multiplier, output_shift;
  int32_t act_min, act_max;
} hb_binary_params;

typedef struct {
  int32_t dims[4], before[4], after[4];
  int8_t value;
} hb_pad_params;

typedef struct {
  int32_t inputs;
  int32_t outer;                  /* product of dims before the axis */
  int32_t inner;                  /* product of dims after the axis */
  const int32_t *axis_sizes;      /* per input */
} hb_concat_params;

typedef struct {
  int32_t dims[4];                /* input, padded to 4-D */
  int32_t reduce[4];              /* 1 where the axis is averaged */
  int32_t count;
  int32_t input_zero_point, output_zero_point;
  int32_t multiplier, shift;      /* includes 1/count */
} hb_mean_params;

typedef struct {
  int32_t rows, depth;
  int32_t input_multiplier, input_left_shift, diff_min;
} hb_softmax_params;

/* LOGISTIC and TANH: input rescaled to Q4.27. */
typedef struct {
  int32_t size;
  int32_t input_zero_point, input_multiplier, input_left_shift, input_range_radius;
} hb_sigmoid_params;

typedef struct {
  int32_t size;
  int32_t input_zero_point, output_zero_point;
  int16_t output_multiplier, reluish_multiplier;
  int32_t output_exponent, reluish_exponent;
} hb_hard_swish_params;

typedef struct {
  int32_t size;
  int32_t input_zero_point, output_zero_point, multiplier, shift, act_min, act_max;
} hb_relu_params;

typedef struct {
  int32_t size;
  int8_t zero, six;
} hb_relu6_params;

/* QUANTIZE: float32 -> int8 (model inputs), or int8 -> int8 requantization. */
typedef struct {
  int32_t size;
  int32_t from_float;
  float scale;                    /* from_float only: a model boundary, not the int8 path */
  int32_t zero_point, input_zero_point, multiplier, shift;
} hb_quantize_params;

typedef struct {
  int32_t size;
  float scale;
  int32_t zero_point;
} hb_dequantize_params;

hb_status hb_conv2d_s8(const hb_conv_params *p, const int8_t *input, int8_t *output);
hb_status hb_depthwise_conv2d_s8(const hb_conv_params *p, const int8_t *input, int8_t *output);
hb_status hb_fully_connected_s8(const hb_fc_params *p, const int8_t *input, int8_t *output);

/* One hb_fc_params.requant record applied to an accumulator, for code generated with the
 * record's values as constants (small FULLY_CONNECTED layers on Armv6-M). */
static inline int8_t hb_requant_window_s8(int32_t a, int32_t lo, int32_t hi, int32_t mh,
                                          int32_t ml, int32_t ml_shift, int32_t neg,
                                          int32_t add, int32_t total_shift) {
  int32_t x;
  if (a < lo) a = lo;
  if (a > hi) a = hi;
  x = a * mh + ((a * ml) >> ml_shift) + (1 << 14);
  x += (x >> 31) & neg;
  return (int8_t)((x + add) >> total_shift);
}
hb_status hb_avg_pool2d_s8(const hb_pool_params *p, const int8_t *input, int8_t *output);
hb_status hb_max_pool2d_s8(const hb_pool_params *p, const int8_t *input, int8_t *output);
hb_status hb_add_s8(const hb_binary_params *p, const int8_t *a, const int8_t *b, int8_t *output);
hb_status hb_mul_s8(const hb_binary_params *p, const int8_t *a, const int8_t *b, int8_t *output);
hb_status hb_copy_s8(int32_t size, const int8_t *input, int8_t *output); /* RESHAPE */
/* patch-based execution: `rows` runs of `row_bytes`, each at its own stride (copy_window.c) */
hb_status hb_copy_window_s8(int32_t rows, int32_t row_bytes, const int8_t *input,
                            int32_t input_stride, int8_t *output, int32_t output_stride);
hb_status hb_pad_s8(const hb_pad_params *p, const int8_t *input, int8_t *output);
hb_status hb_concat_s8(const hb_concat_params *p, const int8_t *const *inputs, int8_t *output);
hb_status hb_mean_s8(const hb_mean_params *p, const int8_t *input, int8_t *output);
hb_status hb_softmax_s8(const hb_softmax_params *p, const int8_t *input, int8_t *output);
hb_status hb_logistic_s8(const hb_sigmoid_params *p, const int8_t *input, int8_t *output);
hb_status hb_tanh_s8(const hb_sigmoid_params *p, const int8_t *input, int8_t *output);
hb_status hb_hard_swish_s8(const hb_hard_swish_params *p, const int8_t *input, int8_t *output);
hb_status hb_relu_s8(const hb_relu_params *p, const int8_t *input, int8_t *output);
hb_status hb_relu6_s8(const hb_relu6_params *p, const int8_t *input, int8_t *output);
hb_status hb_quantize_s8(const hb_quantize_params *p, const void *input, int8_t *output);
hb_status hb_dequantize_s8(const hb_dequantize_params *p, const int8_t *input, float *output);

/*
 * Specialized kernels of the mve variant (Cortex-M55, Helium), called like the variants'
 * kernels described below (folded_bias as there). Channels go by groups of four: weights
 * of a group interleaved by blocks of 16 values (row 4g's, then 4g+1's, 4g+2's, 4g+3's;
 * zero rows and values pad), folded_bias per channel rounded up to 4, and requant per group
 * the four multipliers then the four shifts (TFLM's, -31..0; multipliers >= 0), as
 * firmware/kernels/mve/mve_common.h uses them.
 */

/* CONV_2D as a matrix product (mve variant), one output pixel's column at a time.
 * hb_conv2d_s8_mve: scratch of depth bytes rounded up to 16 (the column);
 * hb_conv2d_1x1_s8_mve: 1x1 kernel without padding, no scratch. */
typedef struct {
  hb_dims input, output;
  int32_t kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w, pad_h, pad_w;
  int32_t depth;                  /* kernel_h * kernel_w * input.c */
  int32_t pad_value;              /* the input zero point */
  int32_t output_offset, act_min, act_max;
  const int8_t *weights;
  const int32_t *folded_bias;
  const int32_t *requant;
} hb_conv_mve_params;

/* DEPTHWISE_CONV_2D, 3x3, depth multiplier 1, no dilation (mve variant), by groups of 8
 * channels (zero-padded): weights 9 taps x 8 channels per group; folded_bias and requant
 * per group in the order of its accumulators, channels 0,2,4,6 then 1,3,5,7.
 * scratch: input.c bytes (a row of pad values). */
typedef struct {
  hb_dims input, output;
  int32_t stride_h, stride_w, pad_h, pad_w;
  int32_t pad_value, output_offset, act_min, act_max;
  const int8_t *weights;
  const int32_t *folded_bias;
  const int32_t *requant;
} hb_dw3x3_mve_params;

/* FULLY_CONNECTED (mve variant), weights as hb_conv_mve_params' with depth values a row. */
typedef struct {
  int32_t rows, depth, units;
  int32_t output_offset, act_min, act_max;
  const int8_t *weights;
  const int32_t *folded_bias;
  const int32_t *requant;
} hb_fc_mve_params;

/* ADD of two same-shaped tensors (mve variant). The shifts are right shifts (0..31). */
typedef struct {
  int32_t size;
  int32_t a_offset, b_offset, left_shift;
  int32_t a_multiplier, a_shift, b_multiplier, b_shift;
  int32_t output_multiplier, output_shift;
  int32_t output_offset, act_min, act_max;
} hb_add_mve_params;

hb_status hb_conv2d_s8_mve(const hb_conv_mve_params *p, const int8_t *input, int8_t *output,
                           void *scratch);
hb_status hb_conv2d_1x1_s8_mve(const hb_conv_mve_params *p, const int8_t *input,
                               int8_t *output);
hb_status hb_depthwise_conv2d_3x3_s8_mve(const hb_dw3x3_mve_params *p, const int8_t *input,
                                         int8_t *output, void *scratch);
hb_status hb_fully_connected_s8_mve(const hb_fc_mve_params *p, const int8_t *input,
                                    int8_t *output);
hb_status hb_add_s8_mve(const hb_add_mve_params *p, const int8_t *a, const int8_t *b,
                        int8_t *output);

/*
 * Specialized kernels of optional variants. The code generator calls one only when the
 * board's kernel variant provides it (hilbench/codegen/specialize.py lists them per
 * variant) and the layer's shape and quantization allow it; every other layer keeps the
 * generic hb_<op>_s8 above. Their parameters are laid out on the host for the loop:
 *  - folded_bias: bias + input_offset * (sum of the channel's weights), so the inner loop
 *    multiplies raw int8 inputs; positions outside the image read the input zero point
 *    (pad_value), which then contributes exactly zero.
 *  - requant: per output channel the pair {multiplier, right shift - 1}; the host checked
 *    that no channel shifts left and every accumulator stays below 2^30 in magnitude
 *    (see firmware/kernels/dsp/dsp_common.h for why that makes SMMULR exact).
 */

/* CONV_2D as a matrix product (dsp variant): two output pixels at a time, each one's
 * receptive field gathered (im2col) into `scratch` as int16, times two output channels.
 * scratch: 4 * row_length bytes (two int16 columns), plus row_length (an int8 staging
 * row) when kernel_w * input.c is not a multiple of 4; 4-byte aligned. The _1col entry
 * points take one pixel at a time: 2 * row_length bytes of columns. */
typedef struct {
  hb_dims input, output;
  int32_t kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w, pad_h, pad_w;
  int32_t row_length;             /* kernel_h * kernel_w * input.c rounded up to 8 */
  int32_t pad_value;              /* the input zero point */
  int32_t output_offset, act_min, act_max;
  const int8_t *weights;          /* output.c rounded up to 2 rows of row_length (OHWI,
                                   * zero-padded), each pair of rows interleaved by groups
                                   * of 4 values: row 2q's, then row 2q+1's */
  const int32_t *folded_bias;     /* one per weight row */
  const int32_t *requant;         /* a pair per weight row */
} hb_conv_dsp_params;

/* DEPTHWISE_CONV_2D, 3x3, depth multiplier 1, no dilation, channels a multiple of 4 (dsp
 * variant). scratch: input.c bytes (a row of pad values), 4-byte aligned. */
typedef struct {
  hb_dims input, output;
  int32_t stride_h, stride_w, pad_h, pad_w;
  int32_t pad_value, output_offset, act_min, act_max;
  const int8_t *weights;          /* per group of 4 channels: 9 taps x 4 channels */
  const int32_t *folded_bias;     /* one per channel */
  const int32_t *requant;         /* a pair per channel */
} hb_dw3x3_dsp_params;

/* FULLY_CONNECTED, four units at a time (dsp variant). */
typedef struct {
  int32_t rows, depth, units;
  int32_t output_offset, act_min, act_max;
  const int8_t *weights;          /* per group of 4 units (zero rows pad the last group):
                                   * depth / 4 blocks of 4 units x 4 values, then one
                                   * block of 4 units x 1 value per remaining depth */
  const int32_t *folded_bias;     /* units rounded up to 4 */
  const int32_t *requant;         /* a pair per unit, units rounded up to 4 */
} hb_fc_dsp_params;

/* ADD of two same-shaped tensors (dsp variant). The shifts are right shifts (0..31); the
 * host checked that every intermediate stays below 2^30 in magnitude. */
typedef struct {
  int32_t size;
  int32_t a_offset, b_offset, left_shift;
  int32_t a_multiplier, a_shift, b_multiplier, b_shift;
  int32_t output_multiplier, output_shift;
  int32_t output_offset, act_min, act_max;
} hb_add_dsp_params;

/* The _full entry points are the same kernels for act_min -128 and act_max 127 (the clamp
 * is one SSAT); separate functions so that a model links only the ones it calls. */
hb_status hb_conv2d_s8_dsp(const hb_conv_dsp_params *p, const int8_t *input, int8_t *output,
                           void *scratch);
hb_status hb_conv2d_s8_dsp_full(const hb_conv_dsp_params *p, const int8_t *input,
                                int8_t *output, void *scratch);
/* The same one pixel at a time: scratch 2 * row_length bytes (one column), plus the
 * staging row when it has one. */
hb_status hb_conv2d_s8_dsp_1col(const hb_conv_dsp_params *p, const int8_t *input,
                                int8_t *output, void *scratch);
hb_status hb_conv2d_s8_dsp_1col_full(const hb_conv_dsp_params *p, const int8_t *input,
                                     int8_t *output, void *scratch);
hb_status hb_depthwise_conv2d_3x3_s8_dsp(const hb_dw3x3_dsp_params *p, const int8_t *input,
                                         int8_t *output, void *scratch);
hb_status hb_depthwise_conv2d_3x3_s8_dsp_full(const hb_dw3x3_dsp_params *p,
                                              const int8_t *input, int8_t *output,
                                              void *scratch);
hb_status hb_fully_connected_s8_dsp(const hb_fc_dsp_params *p, const int8_t *input,
                                    int8_t *output);
hb_status hb_fully_connected_s8_dsp_full(const hb_fc_dsp_params *p, const int8_t *input,
                                         int8_t *output);
hb_status hb_add_s8_dsp(const hb_add_dsp_params *p, const int8_t *a, const int8_t *b,
                        int8_t *output);

/*
 * Data movement (TRANSPOSE, STRIDED_SLICE, SPLIT, SPLIT_V, PACK, UNPACK, GATHER): bytes move
 * unchanged, so one kernel serves int8 and int16 tensors; `elem_size` is the element's size
 * in bytes (1 or 2) and counts below are in elements.
 */

/* TRANSPOSE and STRIDED_SLICE as one strided walk: output element (i[0], ..., i[rank-1]),
 * in row-major order, is input element start + sum(i[d] * step[d]). */
typedef struct {
  int32_t rank;                   /* 1..HB_MAX_DIMS */
  int32_t elem_size;
  int32_t start;                  /* first input element read */
  int32_t count[HB_MAX_DIMS];     /* output extent per axis */
  int32_t step[HB_MAX_DIMS];      /* input elements per step of the axis; may be negative */
} hb_strided_params;

/* SPLIT and SPLIT_V: the input cut along one axis into `outputs` parts. */
typedef struct {
  int32_t outputs;
  int32_t outer;                  /* product of dims before the axis */
  int32_t inner;                  /* product of dims after the axis */
  int32_t elem_size;
  const int32_t *axis_sizes;      /* per output, along the axis */
} hb_split_params;

/* PACK (`count` inputs of one shape stacked on a new axis) and UNPACK (the inverse). */
typedef struct {
  int32_t count;                  /* inputs of PACK, outputs of UNPACK */
  int32_t outer;                  /* product of dims before the packed axis */
  int32_t inner;                  /* product of dims after it */
  int32_t elem_size;
} hb_pack_params;

/* GATHER: positions are int32 (constant or computed); one outside 0..axis_size-1 makes the
 * kernel return HB_ERROR, as TFLM's Eval fails. */
typedef struct {
  int32_t batch;                  /* product of the first batch_dims input dims */
  int32_t outer;                  /* product of input dims from batch_dims to the axis */
  int32_t coords;                 /* positions per batch */
  int32_t axis_size, inner, elem_size;
} hb_gather_params;

/* BATCH_MATMUL, int8: out[b][r][c] = requant(sum_k (lhs[b][r][k] + lhs_offset) *
 * (rhs[b][k][c] + rhs_offset)), clamped to int8. Batch dims (up to 3) broadcast through
 * zero strides; adj_x / adj_y only change the steps. */
typedef struct {
  int32_t batch[3];               /* output batch dims, leading 1s for lower ranks */
  int32_t lhs_batch_step[3], rhs_batch_step[3];   /* elements; 0 on a broadcast dim */
  int32_t rows, cols, depth;
  int32_t lhs_row_step, lhs_depth_step;
  int32_t rhs_depth_step, rhs_col_step;
  int32_t lhs_offset, rhs_offset, output_offset;
  int32_t multiplier, shift;
} hb_batch_matmul_params;

hb_status hb_transpose_s8(const hb_strided_params *p, const int8_t *input, int8_t *output);
hb_status hb_strided_slice_s8(const hb_strided_params *p, const int8_t *input, int8_t *output);
hb_status hb_split_s8(const hb_split_params *p, const int8_t *input, int8_t *const *outputs);
hb_status hb_pack_s8(const hb_pack_params *p, const int8_t *const *inputs, int8_t *output);
hb_status hb_unpack_s8(const hb_pack_params *p, const int8_t *input, int8_t *const *outputs);
hb_status hb_gather_s8(const hb_gather_params *p, const int8_t *input, const int32_t *positions,
                       int8_t *output);
hb_status hb_batch_matmul_s8(const hb_batch_matmul_params *p, const int8_t *lhs,
                             const int8_t *rhs, int8_t *output);

/*
 * Element-wise operators of issue #17, reference kernels (firmware/kernels/ref/).
 * SUB: ADD's rescaling with a true subtraction (hb_binary_params as ADD fills it).
 * MAXIMUM, MINIMUM: raw int8 comparison, hb_binary_params' walk only (TFLM ignores the
 * quantization). PRELU: a = input, b = alpha; a_multiplier/a_shift rescale x >= 0,
 * b_multiplier/b_shift rescale x * alpha for x < 0 (offsets as ADD's).
 */
hb_status hb_sub_s8(const hb_binary_params *p, const int8_t *a, const int8_t *b, int8_t *output);
hb_status hb_maximum_s8(const hb_binary_params *p, const int8_t *a, const int8_t *b,
                        int8_t *output);
hb_status hb_minimum_s8(const hb_binary_params *p, const int8_t *a, const int8_t *b,
                        int8_t *output);
hb_status hb_prelu_s8(const hb_binary_params *p, const int8_t *input, const int8_t *alpha,
                      int8_t *output);

/* LEAKY_RELU: x = input - input zero point; x >= 0 rescaled by the identity multiplier,
 * x < 0 by |alpha|'s, negated when alpha_negative (TFLM's order of operations). */
typedef struct {
  int32_t size;
  int32_t input_zero_point, output_zero_point;
  int32_t identity_multiplier, identity_shift;
  int32_t alpha_multiplier, alpha_shift;        /* alpha_multiplier >= 0 */
  int32_t alpha_negative;                       /* 0 or 1 */
} hb_leaky_relu_params;

hb_status hb_leaky_relu_s8(const hb_leaky_relu_params *p, const int8_t *input, int8_t *output);

/* RESIZE_NEAREST_NEIGHBOR on NHWC: output pixel (y, x) copies input pixel (rows[y],
 * cols[x]); the index tables are TFLM's float32 nearest-neighbour rule evaluated on the
 * host (align_corners, half_pixel_centers), so the target does no float arithmetic. */
typedef struct {
  hb_dims input;
  int32_t out_h, out_w;
  const int32_t *rows;            /* out_h values in 0..input.h-1 */
  const int32_t *cols;            /* out_w values in 0..input.w-1 */
} hb_resize_nearest_params;

hb_status hb_resize_nearest_s8(const hb_resize_nearest_params *p, const int8_t *input,
                               int8_t *output);

/*
 * int16 activations with int8 weights (TFLM's int16x8 kernels, firmware/kernels/ref/
 * *_s16.c). int16 activations have zero point 0, so there are no activation offsets.
 * bias_64 says what `bias` holds: 1 for int64 values (TFLM then accumulates in int64 and
 * requantizes with the multiplier rounded to 16 bits, one rounding), 0 for int32 values
 * (an int32 accumulator and the double-rounding requantization of the int8 kernels).
 * bias may be NULL (then bias_64 is 1, as TFLM's int64 path).
 */
typedef struct {
  hb_dims input, filter, output;  /* filter as in hb_conv_params */
  int32_t stride_h, stride_w, dilation_h, dilation_w;
  int32_t pad_h, pad_w;
  int32_t depth_multiplier;       /* depthwise only */
  int32_t act_min, act_max;
  int32_t bias_64;
  const int8_t *filter_data;
  const void *bias;               /* Cout int64 or int32 values, or NULL */
  const int32_t *multiplier;      /* Cout values */
  const int32_t *shift;           /* Cout values, >0 left, <0 right */
} hb_conv_s16_params;

typedef struct {
  int32_t rows, depth, units;
  int32_t weights_offset;         /* -weights zero point (per-tensor weights) */
  int32_t act_min, act_max;
  int32_t bias_64;
  const int8_t *weights;
  const void *bias;               /* units int64 or int32 values, or NULL */
  const int32_t *multiplier;      /* units values */
  const int32_t *shift;
} hb_fc_s16_params;

/* SOFTMAX int16 -> int16 (output scale 1/32768): TFLM's two lookup tables, filled by the
 * host as TFLM's Prepare fills them: 513 Q0.15 values each, 512 segments interpolated. */
typedef struct {
  int32_t rows, depth;
  int32_t input_multiplier, input_left_shift;  /* input difference to [-65535, 0] */
  const int16_t *exp_lut;                      /* exp(x), x in [-10, 0] */
  const int16_t *one_over_one_plus_x_lut;      /* 1 / (1 + x), x in [0, 1] */
} hb_softmax_s16_params;

/* QUANTIZE with int16 on a side: float32 -> int16 (a model boundary), int8 -> int16,
 * int16 -> int8, int16 -> int16 (integer requantization). */
typedef struct {
  int32_t size;
  int32_t input_type;             /* 0 float32, 1 int8, 2 int16 */
  int32_t output_bits;            /* 8 or 16 */
  float scale;                    /* float32 input only */
  int32_t zero_point, input_zero_point, multiplier, shift;
} hb_quantize_s16_params;

hb_status hb_conv2d_s16(const hb_conv_s16_params *p, const int16_t *input, int16_t *output);
hb_status hb_depthwise_conv2d_s16(const hb_conv_s16_params *p, const int16_t *input,
                                  int16_t *output);
hb_status hb_fully_connected_s16(const hb_fc_s16_params *p, const int16_t *input,
                                 int16_t *output);
/* ADD: hb_binary_params as hb_add_s8's, with left_shift 15 and zero offsets */
hb_status hb_add_s16(const hb_binary_params *p, const int16_t *a, const int16_t *b,
                     int16_t *output);
hb_status hb_softmax_s16(const hb_softmax_s16_params *p, const int16_t *input,
                         int16_t *output);
hb_status hb_quantize_s16(const hb_quantize_s16_params *p, const void *input, void *output);
hb_status hb_dequantize_s16(const hb_dequantize_params *p, const int16_t *input,
                            float *output);

/* TRANSPOSE_CONV (TFLM transpose_conv.cc), filter Cout x KH x KW x Cin. TFLM scatters each
 * input pixel into an int32 (int16x8: int64) accumulator per output value; the kernels
 * gather instead, output value by output value, which gives the same integer sums. */
typedef struct {
  hb_dims input, filter, output;
  int32_t stride_h, stride_w;
  int32_t pad_h, pad_w;           /* output rows/columns cropped at the top/left */
  int32_t input_offset;           /* -input zero point (0 for int16) */
  int32_t output_offset;          /* output zero point (0 for int16) */
  int32_t act_min, act_max;
  int32_t bias_64;                /* as in hb_conv_s16_params: 0 for the int8 kernel */
  const int8_t *filter_data;
  const void *bias;               /* Cout int32 (int8) or int64 (int16x8) values, or NULL */
  const int32_t *multiplier;      /* Cout values */
  const int32_t *shift;
} hb_transpose_conv_params;

hb_status hb_transpose_conv_s8(const hb_transpose_conv_params *p, const int8_t *input,
                               int8_t *output);
hb_status hb_transpose_conv_s16(const hb_transpose_conv_params *p, const int16_t *input,
                                int16_t *output);

/* SVDF as TFLM's integer kernel: int8 input and feature weights (filters x input_size),
 * int16 time weights (filters x memory) and state (batch x filters x memory, oldest step
 * first), int32 bias (units), int8 output (batch x units); filters = units x rank. */
typedef struct {
  int32_t batch, input_size, filters, memory, units, rank;
  int32_t input_zero_point, state_zero_point, output_zero_point;
  int32_t feature_multiplier, feature_shift;  /* input x feature weights -> state */
  int32_t output_multiplier, output_shift;    /* state x time weights -> output */
  const int8_t *weights_feature;
  const int16_t *weights_time;
  const int32_t *bias;            /* units values */
} hb_svdf_params;

/* One step: every filter's memory moves one slot left and takes the new feature
 * activation in its last slot (`state` is updated in place), then each unit's output is
 * bias + the time-weighted memory of its rank filters, requantized. */
hb_status hb_svdf_s8(const hb_svdf_params *p, const int8_t *input, int16_t *state,
                     int8_t *output);

/* UNIDIRECTIONAL_SEQUENCE_LSTM, TFLM's integer LSTM for int8 models (lstm.c): int8 input,
 * weights and hidden state, int32 biases, int16 cell state with a power-of-two scale. */
typedef struct {
  const int8_t *input_weights;      /* units x features */
  const int8_t *recurrent_weights;  /* units x units */
  const int32_t *bias;              /* units values, added to the input product */
  int32_t input_multiplier, input_shift;          /* input product -> int16 Q3.12 */
  int32_t recurrent_multiplier, recurrent_shift;  /* hidden product -> int16 Q3.12 */
  const int64_t *bias64;            /* hb_lstm_s16 (int16x8): int64 bias, bias is 0 */
} hb_lstm_gate;

typedef struct {
  int32_t batch, time_steps, features, units;
  int32_t time_major;              /* 1: input and output are time x batch x features */
  int32_t input_offset;            /* -input zero point */
  int32_t hidden_offset;           /* -hidden state zero point */
  int32_t hidden_zero_point;
  hb_lstm_gate gates[4];           /* input, forget, cell, output */
  int32_t forget_cell_multiplier, forget_cell_shift;  /* forget x cell -> cell */
  int32_t input_cell_multiplier, input_cell_shift;    /* input x cell gate -> cell */
  int32_t hidden_multiplier, hidden_shift;            /* tanh(cell) x output -> hidden */
  int32_t cell_scale_power;        /* the cell state's scale is 2^cell_scale_power */
  int32_t cell_clip;               /* quantized clip of the cell state; 0: none */
  const uint16_t *sigmoid_table;   /* 256 entries: sigmoid(i / 24) in 0.16 */
} hb_lstm_params;

/* Runs all time steps; hidden_state (batch x units int8) and cell_state (batch x units
 * int16) carry in the state and are updated in place. */
hb_status hb_lstm_s8(const hb_lstm_params *p, const int8_t *input, int8_t *hidden_state,
                     int16_t *cell_state, int8_t *output);

/* The int16x8 LSTM (lstm_s16.c): int16 input, output and hidden state (batch x units,
 * updated in place), int8 weights, int64 biases (the gates' bias64), int16 cell state. */
hb_status hb_lstm_s16(const hb_lstm_params *p, const int16_t *input, int16_t *hidden_state,
                      int16_t *cell_state, int16_t *output);

#endif /* HB_KERNELS_H */
