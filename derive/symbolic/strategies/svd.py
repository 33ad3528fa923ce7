"""Matrix identities with the SVD, diagonal matrices, pinv, symbolic powers and dot
products for symbolic sizes: the matrix-algebra strategy over
:class:`derive.symbolic.svd_algebra.SvdAlgebra`.  It runs after the plain algebra, so it
only sees what that one declined; its evidence lists every side condition it used."""
from __future__ import annotations

from derive.symbolic.lower import Lowering
from derive.symbolic.strategies.matrix_algebra import Algebra, MatrixAlgebra
from derive.symbolic.svd_algebra import SvdAlgebra


class SvdMatrixAlgebra(MatrixAlgebra):
    name = "svd-algebra"
    refused = ("argmin", "argmax", "integrate")
    roles = ("tensor", "define")  # U, S, V of svd(X) are definitions

    def make_algebra(self, low: Lowering) -> Algebra:
        return SvdAlgebra(low)
