"""The built-in vocabulary: functions, distributions, properties and reserved names.

Each function has an arity and a shape rule used by the semantic pass; the engines
implement the same names.  Adding a function means adding a row here and a lowering
in each engine that supports it.  Distributions and statistic names are defined once in
derive/vocabulary (each law with every engine's meaning); the tables here derive from it.
"""
from __future__ import annotations

from dataclasses import dataclass

from derive.vocabulary import COSTS, LAWS, STATISTICS

# shape rules (interpreted by derive.semantics):
#   same      - result has the shape of the first argument (elementwise)
#   scalar    - result is a scalar (a reduction)
#   square    - first argument must be square; result has its shape
#   transpose - result is the transpose shape (pinv)
#   diag      - vector -> square matrix, matrix -> vector
#   eye       - I(n): n x n
#   filled    - zeros/ones(dims...)
#   conv      - 1-D/2-D cross-correlation output size (multi-channel: [F, out…])
#   topk      - topk(x, k): vector[k]
#   jacobian  - jacobian(f, x): matrix[len f, len x]
#   pool      - pooling output size
#   grad      - shape of the second argument
#   bind      - first argument is a bound variable (argmin/argmax)
#   binder    - sum/prod/integrate: keyword binder name = lo..hi then the body
#   broadcast - elementwise over several arguments (max/min with 2+ args)
#   any       - result not inferred (accepted, checked by engines)


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    min_args: int
    max_args: int
    rule: str
    kwargs: tuple[str, ...] = ()
    doc: str = ""


_F = FunctionSpec
FUNCTIONS: dict[str, FunctionSpec] = {f.name: f for f in [
    _F("abs", 1, 1, "same", doc="absolute value (elementwise)"),
    _F("sqrt", 1, 1, "same"), _F("exp", 1, 1, "same"), _F("log", 1, 1, "same"),
    _F("sin", 1, 1, "same"), _F("cos", 1, 1, "same"), _F("tanh", 1, 1, "same"),
    _F("sigmoid", 1, 1, "same"), _F("relu", 1, 1, "same"), _F("sign", 1, 1, "same"),
    _F("floor", 1, 1, "same"), _F("ceil", 1, 1, "same"), _F("re", 1, 1, "same"),
    _F("im", 1, 1, "same"), _F("conj", 1, 1, "same"),
    _F("softmax", 1, 1, "same", ("axis",)), _F("logsumexp", 1, 1, "scalar", ("axis",)),
    _F("max", 1, 8, "broadcast"), _F("min", 1, 8, "broadcast"),
    _F("mean", 1, 1, "scalar", ("axis",)), _F("sum", 1, 1, "binder", ("axis",)),
    _F("prod", 1, 1, "binder"), _F("integrate", 1, 1, "binder"),
    _F("norm", 1, 2, "scalar"), _F("rms", 1, 1, "scalar"), _F("trace", 1, 1, "scalar"),
    _F("det", 1, 1, "scalar"), _F("logdet", 1, 1, "scalar"), _F("rank", 1, 1, "scalar"),
    _F("numel", 1, 1, "scalar"), _F("dot", 2, 2, "scalar"),
    _F("inv", 1, 1, "square"), _F("pinv", 1, 1, "transpose"), _F("matpow", 2, 2, "square"),
    _F("diag", 1, 1, "diag"), _F("I", 1, 1, "eye"), _F("zeros", 1, 4, "filled"),
    _F("ones", 1, 4, "filled"), _F("vec", 1, 1, "any"), _F("kron", 2, 2, "any"),
    _F("outer", 2, 2, "any"), _F("concat", 1, 16, "any", ("axis",)),
    _F("conv", 2, 2, "conv", ("stride", "padding", "groups"),
       doc="cross-correlation (kernel not flipped); tensor[C, …] with tensor[F, C/g, …]: "
           "multi-channel, grouped by groups = g"),
    _F("convolve", 2, 2, "conv", ("stride", "padding", "groups"),
       doc="true convolution: conv(x, w) with the kernel's spatial axes flipped"),
    _F("flip", 1, 1, "same", ("axis",),
       doc="the entries in reverse order along every axis, or along axis = k only"),
    _F("topk", 2, 2, "topk", doc="topk(x, k): the k largest entries of a vector, descending"),
    _F("jacobian", 2, 2, "jacobian",
       doc="jacobian(f, x): matrix[m, n] with entry [i, j] = ∂fᵢ/∂xⱼ (numerator layout)"),
    _F("maxpool", 2, 2, "pool", ("stride",)), _F("avgpool", 2, 2, "pool", ("stride",)),
    _F("svd", 1, 1, "any"), _F("eig", 1, 1, "any"), _F("eigvals", 1, 1, "any"),
    _F("fft", 1, 1, "same"), _F("ifft", 1, 1, "same"), _F("pad", 2, 2, "any"),
    _F("binomial", 2, 2, "scalar"), _F("factorial", 1, 1, "scalar"),
    _F("grad", 2, 2, "grad"), _F("argmin", 2, 2, "bind"), _F("argmax", 2, 2, "bind"),
    _F("logpdf", 2, 2, "scalar"), _F("pdf", 2, 2, "scalar"), _F("cdf", 2, 2, "scalar"),
    _F("KL", 2, 2, "scalar"),
    # deep-learning built-ins (docs/semantics.md, "Deep-learning functions")
    _F("softplus", 1, 1, "same", doc="log(1 + exp(x)) elementwise"),
    _F("logsigmoid", 1, 1, "same", doc="log(sigmoid(x)) elementwise"),
    _F("gelu", 1, 1, "same", doc="x·Φ(x) (the exact, erf form) elementwise"),
    _F("log_softmax", 1, 1, "same", ("axis",), doc="x − logsumexp(x), over softmax's axis"),
    _F("layer_norm", 1, 1, "same", ("eps",),
       doc="(x − mean(x)) / sqrt(var(x) + eps) over the last axis; eps = 0 unless given"),
    _F("var", 1, 1, "scalar", doc="population variance of the entries (divide by numel)"),
    _F("cross_entropy", 2, 2, "scalar",
       doc="logsumexp(z) − z[y] for a class index y; −y · log_softmax(z) for a vector y"),
    _F("onehot", 2, 2, "onehot", doc="onehot(k, n): vector[n] with a 1 at entry k"),
    _F("rowsum", 1, 1, "rowsum", doc="the vector of row sums of a matrix (A @ 1)"),
    _F("colsum", 1, 1, "colsum", doc="the vector of column sums of a matrix (Aᵀ @ 1)"),
    _F("where", 3, 3, "where", doc="where(c, a, b): a where c holds, else b; (a if c else b)"),
]}

# Other spellings of a built-in, resolved by the transformer (so engines see one name).
# diff(f, x) is grad(f, x): for a scalar x, the derivative df/dx.
FUNCTION_ALIASES: dict[str, str] = {"tr": "trace", "Tr": "trace", "diff": "grad"}

# name -> (min, max) parameters; each law and its engines' meanings: derive.vocabulary
DISTRIBUTIONS: dict[str, tuple[int, int]] = {name: law.arity for name, law in LAWS.items()}

PROPERTIES = {
    "invertible", "symmetric", "psd", "spd", "orthogonal", "diagonal", "full_rank", "nonzero",
    "simplex", "adjacency", "rank", "smooth", "unit", "positive", "semi_orthogonal", "permutation",
}

CONSTANTS = {"pi", "inf", "fro", "euler", "euler_gamma"}   # euler = e; euler_gamma = γ ≈ 0.5772
STAT_NAMES = set(STATISTICS)   # written once, in derive.vocabulary.statistics
COST_NAMES = set(COSTS)
# γ and β are spelled gamma and beta, and name a normalisation's scale and shift far more
# often than a law: those laws are recognised where a law is expected (after ~, in
# pdf/cdf/KL) and their names stay free for declarations
RESERVED = (STAT_NAMES | COST_NAMES | set(FUNCTIONS) | CONSTANTS
            | {name for name, law in LAWS.items() if law.reserved}
            | set(FUNCTION_ALIASES))


def kind_of(name: str) -> str:
    """What a reserved word is, in words, for error messages ('π is a constant')."""
    if name in CONSTANTS:
        return "a built-in constant"
    if name in STAT_NAMES:
        return "a statistic (E, Var, …)"
    if name in COST_NAMES:
        return "a cost (time, flops, memory)"
    if name in DISTRIBUTIONS:
        return "a distribution"
    if name == "I":
        return "the identity matrix I[n]"
    return "a built-in function"

# Hints for calls of names derive does not know, where the textbook reading is predictable.
_GROWTH = "growth is a statement, not a value: write 'cost in O(n^2)', 'cost in Ω(n)' or 'cost ~ n^2'"
FUNCTION_HINTS: dict[str, str] = {
    "sigma": "the logistic function is sigmoid(x); σ is usually a declared scalar "
             "(let σ : real > 0), and then a product is written σ * (…)",
    "ln": "the natural logarithm is log(x)",
    "erf": "erf is not built in; gelu(x) is x·Φ(x) with the exact Gaussian CDF",
    "O": _GROWTH, "Theta": _GROWTH, "Omega": _GROWTH, "o": _GROWTH,
    "sgn": "the sign function is sign(x)",
    "norm2": "the Euclidean norm is norm(x) or ‖x‖",
    "one_hot": "the one-hot vector is onehot(k, n)",
    "log_sigmoid": "log σ(x) is logsigmoid(x)",
    "logsoftmax": "log softmax(x) is log_softmax(x)",
    "layernorm": "layer normalisation is layer_norm(x)",
    "CE": "cross-entropy is cross_entropy(logits, target)",
    "xent": "cross-entropy is cross_entropy(logits, target)",
    "studentt": "Student's t law is student_t(ν)", "studentT": "Student's t law is student_t(ν)",
    "student": "Student's t law is student_t(ν)", "t_dist": "Student's t law is student_t(ν)",
    "reverse": "the entries in reverse order are flip(x)",
    "flipud": "flip(x) reverses every axis; for rows only, flip(I(m)) @ A",
    "fliplr": "flip(x) reverses every axis; for columns only, A @ flip(I(n))",
    "correlate": "cross-correlation is conv(x, w); convolve(x, w) flips the kernel",
    "jac": "the Jacobian is jacobian(f, x)", "derivative": "the derivative is diff(f, x)",
    "sort": "sort is not built in; topk(x, n) gives all n entries in descending order",
}
