/* layers_decl.h: prototypes of every layer, included twice by layers.h (float
 * names, then double names with the suffix _d). No include guard on purpose.
 *
 * Dimensions: B batch, T steps (To after a conv or pool), F input features,
 * C channels, O output channels, H hidden, K kernel, NH heads, N rows (B*T or
 * B), I/O input/output width of a Linear.
 *
 * Conventions (llm.c): arguments go outputs, inputs, weights, sizes; a
 * *_backward ADDS into every gradient buffer it is given (d-inputs and
 * d-weights alike), so the caller zeroes them; a NULL d-input is skipped.
 * Activations are (B, T, C) row-major: channels last, also for convolutions. */

/* Linear: out (N,O) = in (N,I) w^T + b; w (O,I), b (O) or NULL. */
void NN_FN(linear_forward)(NN_R *out, const NN_R *in, const NN_R *w, const NN_R *b, int N, int I, int O);
void NN_FN(linear_backward)(NN_R *din, NN_R *dw, NN_R *db, const NN_R *dout, const NN_R *in, const NN_R *w,
                            int N, int I, int O);

/* Transpose: out (C,R) = in (R,C)^T. */
void NN_FN(transpose)(NN_R *out, const NN_R *in, int R, int C);

/* ReLU; out may alias in. Backward reads the output: din += dout * (out > 0). */
void NN_FN(relu_forward)(NN_R *out, const NN_R *in, long n);
void NN_FN(relu_backward)(NN_R *din, const NN_R *dout, const NN_R *out, long n);
/* GELU, exact: x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)). */
void NN_FN(gelu_forward)(NN_R *out, const NN_R *in, long n);
void NN_FN(gelu_backward)(NN_R *din, const NN_R *dout, const NN_R *in, long n);
/* Inverted dropout: each element kept with probability 1-p and scaled by
 * 1/(1-p); mask (n) holds that factor (0 or 1/(1-p)) for the backward pass. */
void NN_FN(dropout_forward)(NN_R *out, NN_R *mask, const NN_R *in, long n, double p, rng_t *rng);
void NN_FN(dropout_backward)(NN_R *din, const NN_R *dout, const NN_R *mask, long n);
/* Residual add: out = a + b (out may alias a or b); backward da += dout, db += dout. */
void NN_FN(residual_forward)(NN_R *out, const NN_R *a, const NN_R *b, long n);
void NN_FN(residual_backward)(NN_R *da, NN_R *db, const NN_R *dout, long n);
/* Concatenation along the last axis: out (N, sum d[i]) = [in[0] (N,d[0]) | in[1] | ...]. */
void NN_FN(concat_forward)(NN_R *out, const NN_R *const *in, const int *d, int k, int N);
void NN_FN(concat_backward)(NN_R *const *din, const NN_R *dout, const int *d, int k, int N);

/* Conv1d over time, channels last: x (B,T,C) -> out (B,To,O), w (O,C,K) as
 * PyTorch's Conv1d.weight, b (O);
 *   out[b,t,o] = b[o] + sum_{c,k} w[o,c,k] * x[b, t + k*dil - padl, c]
 * with x = 0 outside [0,T). To = T + padl + padr - dil*(K-1): causal padding
 * is padl = dil*(K-1), padr = 0; PyTorch's padding=p is padl = padr = p.
 * col (B*To, C*K) is the im2col matrix, kept for the backward pass; it may
 * be NULL for a 1x1 convolution without padding (the input is used
 * directly). Its column for x[b, t + k*dil - padl, c] is k*C + c when
 * B*To >= 8*O (training batches; the weight is then used with its last two
 * axes swapped) and c*K + k otherwise. dcol (B*To, C*K) is scratch; wp is
 * scratch for the swapped weight, (O,K,C) forward, (2,O,K,C) backward
 * (unused, may be NULL, for the plain 1x1 convolution). */
void NN_FN(conv1d_forward)(NN_R *out, NN_R *col, NN_R *wp, const NN_R *in, const NN_R *w, const NN_R *b,
                           int B, int T, int C, int O, int K, int dil, int padl, int To);
void NN_FN(conv1d_backward)(NN_R *din, NN_R *dw, NN_R *db, NN_R *dcol, NN_R *wp, const NN_R *dout, const NN_R *col,
                            const NN_R *in, const NN_R *w, int B, int T, int C, int O, int K, int dil, int padl,
                            int To);

/* The same convolution computed at some output steps only, reading some input
 * steps only (what a causal model whose loss reads the last step needs: the
 * TCN's receptive cone). A buffer (s, n) holds the n steps
 * T-1-(n-1)s, ..., T-s, T-1 (ascending), rows (B, n, channels); sequence
 * length T for input and output (causal padding: padl = dil*(K-1)).
 * in (s_i, n_i) -> out (s_o, n_o); every input step an output reads must be
 * in the input buffer or outside [0,T) (zero padding). col (B*n_o, C*K) is
 * kept for the backward pass; dcol (B*n_o, C*K) is scratch. */
void NN_FN(conv1d_steps_forward)(NN_R *out, NN_R *col, const NN_R *in, const NN_R *w, const NN_R *b, int B, int T,
                                 int C, int O, int K, int dil, int padl, int si, int ni, int so, int no);
void NN_FN(conv1d_steps_backward)(NN_R *din, NN_R *dw, NN_R *db, NN_R *dcol, const NN_R *dout, const NN_R *col,
                                  const NN_R *w, int B, int T, int C, int O, int K, int dil, int padl, int si,
                                  int ni, int so, int no);

/* Max-pool over time, kernel 2 stride 2: in (B,T,C) -> out (B,T/2,C) (a last
 * odd step is dropped, as torch.max_pool1d); arg (B,T/2,C) the chosen step. */
void NN_FN(maxpool_forward)(NN_R *out, int *arg, const NN_R *in, int B, int T, int C);
void NN_FN(maxpool_backward)(NN_R *din, const NN_R *dout, const int *arg, int B, int T, int C);
/* Mean over time: in (B,T,C) -> out (B,C). */
void NN_FN(meantime_forward)(NN_R *out, const NN_R *in, int B, int T, int C);
void NN_FN(meantime_backward)(NN_R *din, const NN_R *dout, int B, int T, int C);
/* Last step: in (B,T,C) -> out (B,C) = in[:, T-1]. */
void NN_FN(laststep_forward)(NN_R *out, const NN_R *in, int B, int T, int C);
void NN_FN(laststep_backward)(NN_R *din, const NN_R *dout, int B, int T, int C);

/* LayerNorm over the last axis (eps 1e-5, biased variance, as PyTorch):
 * in (N,C) -> out (N,C); mean, rstd (N) kept; w, b (C). */
void NN_FN(layernorm_forward)(NN_R *out, NN_R *mean, NN_R *rstd, const NN_R *in, const NN_R *w, const NN_R *b,
                              int N, int C);
void NN_FN(layernorm_backward)(NN_R *din, NN_R *dw, NN_R *db, const NN_R *dout, const NN_R *in, const NN_R *w,
                               const NN_R *mean, const NN_R *rstd, int N, int C);

/* One LSTM layer, PyTorch's formulation and gate order i, f, g, o (rows of
 * w_ih/w_hh/b_ih/b_hh in blocks of H), h0 = c0 = 0:
 *   [i f g o] = x_t w_ih^T + b_ih + h_{t-1} w_hh^T + b_hh
 *   i, f, o = sigmoid, g = tanh;  c_t = f c_{t-1} + i g;  h_t = o tanh(c_t).
 * in (B,T,I) -> h (B,T,H); c (B,T,H) and gates (B,T,4H) (activated) kept.
 * w_ih (4H,I), w_hh (4H,H), b_ih, b_hh (4H); wt (H,4H) scratch.
 * Backward: dh (B,T,H) is the gradient of h and is CONSUMED (the recurrent
 * gradient is added into it, then it is scratch: it ends holding h shifted
 * one step); dgates (B,T,4H) and dc (B*H + 4H) are scratch. */
void NN_FN(lstm_forward)(NN_R *h, NN_R *c, NN_R *gates, NN_R *wt, const NN_R *in, const NN_R *w_ih, const NN_R *w_hh,
                         const NN_R *b_ih, const NN_R *b_hh, int B, int T, int I, int H);
void NN_FN(lstm_backward)(NN_R *din, NN_R *dw_ih, NN_R *dw_hh, NN_R *db_ih, NN_R *db_hh, NN_R *dh, NN_R *dgates,
                          NN_R *dc, const NN_R *h, const NN_R *c, const NN_R *gates, const NN_R *in,
                          const NN_R *w_ih, const NN_R *w_hh, int B, int T, int I, int H);

/* One GRU layer, PyTorch's formulation, gate order r, z, n, h0 = 0:
 *   r = sigmoid(W_ir x + b_ir + W_hr h + b_hr),  z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
 *   n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),  h' = (1 - z) n + z h
 * in (B,T,I) -> h (B,T,H); gates (B,T,3H) (r, z, n activated) and hn (B,T,H)
 * (= W_hn h_{t-1} + b_hn) kept. w_ih (3H,I), w_hh (3H,H), b_ih, b_hh (3H).
 * gh (B,3H) and wt (H,3H) are scratch. Backward: dh consumed as for the LSTM; dgx, dgh
 * (B,T,3H) scratch. */
void NN_FN(gru_forward)(NN_R *h, NN_R *gates, NN_R *hn, NN_R *gh, NN_R *wt, const NN_R *in, const NN_R *w_ih,
                        const NN_R *w_hh, const NN_R *b_ih, const NN_R *b_hh, int B, int T, int I, int H);
void NN_FN(gru_backward)(NN_R *din, NN_R *dw_ih, NN_R *dw_hh, NN_R *db_ih, NN_R *db_hh, NN_R *dh, NN_R *dgx,
                         NN_R *dgh, const NN_R *h, const NN_R *gates, const NN_R *hn, const NN_R *in,
                         const NN_R *w_ih, const NN_R *w_hh, int B, int T, int I, int H);

/* Scaled dot-product attention of PyTorch's MultiheadAttention, between its
 * in_proj and out_proj: qkv (B,T,3H) = [q | k | v] (the in_proj output), head
 * j uses columns j*hd .. (j+1)*hd - 1 of each, hd = H/NH;
 *   att = softmax(q k^T / sqrt(hd) [+ causal mask]),  out (B,T,H) = att v.
 * att (B,NH,T,T) kept; causal: step t attends to steps <= t only.
 * Backward: datt (T,T) scratch. */
void NN_FN(mha_forward)(NN_R *out, NN_R *att, const NN_R *qkv, int B, int T, int H, int NH, int causal);
void NN_FN(mha_backward)(NN_R *dqkv, NN_R *datt, const NN_R *dout, const NN_R *att, const NN_R *qkv, int B, int T,
                         int H, int NH);

/* The same attention for the last query step only (what a model that reads
 * the last step of its top encoder layer needs): out (B,H) = att v with
 * att (B,NH,T) = softmax(q_{T-1} k^T / sqrt(hd)), reading q at step T-1 and
 * k, v at every step of qkv (B,T,3H) (a causal mask would not change it).
 * Backward adds dq into row T-1 of dqkv and dk, dv into every row; datt (T)
 * scratch. */
void NN_FN(mha_last_forward)(NN_R *out, NN_R *att, const NN_R *qkv, int B, int T, int H, int NH);
void NN_FN(mha_last_backward)(NN_R *dqkv, NN_R *datt, const NN_R *dout, const NN_R *att, const NN_R *qkv, int B,
                              int T, int H, int NH);

/* Sinusoidal positional encoding table pe (T,H), as the reference's sinusoid():
 * pe[t, 2i] = sin(t * d_i), pe[t, 2i+1] = cos(t * d_i), d_i = exp(-2i ln(10000) / H),
 * evaluated in float32 steps as PyTorch does. */
void NN_FN(sinusoid_table)(NN_R *pe, int T, int H);

/* Softmax cross-entropy with class weights cw (C) or NULL (all 1), as
 * PyTorch's CrossEntropyLoss(weight=cw): loss = sum_i cw[y_i] l_i / sum_i cw[y_i].
 * logits (B,C) -> probs (B,C) kept; returns the loss (log-sum-exp, computed in
 * double). Backward: dlogits += dloss * cw[y_i]/W (probs - onehot(y_i)). */
double NN_FN(crossentropy_forward)(NN_R *probs, const NN_R *logits, const int *y, const NN_R *cw, int B, int C);
void NN_FN(crossentropy_backward)(NN_R *dlogits, const NN_R *probs, const int *y, const NN_R *cw, double dloss,
                                  int B, int C);
