import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tsad.core.grey_relational import grey_relational_grades, select_by_grade

finite = st.floats(-1e6, 1e6, allow_nan=False, width=32)


@settings(max_examples=60)
@given(arrays(np.float64, st.tuples(st.integers(2, 60), st.integers(1, 40)), elements=finite),
       st.floats(0.05, 1.0))
def test_grades_are_in_unit_interval_and_reference_copy_scores_one(features, rho):
    reference = features[:, 0]
    grades = grey_relational_grades(features, reference, rho)
    assert grades.shape == (features.shape[1],)
    assert np.all((grades > 0) & (grades <= 1 + 1e-12))
    assert grades[0] == pytest.approx(1.0)


def test_grade_follows_hand_computation():
    reference = np.array([0.0, 1.0, 2.0])
    features = np.column_stack([[0.0, 1.0, 2.0], [0.0, 2.0, 1.0]])
    # normalised: x0 = [0, .5, 1]; f0 equal; f1 = [0, 1, .5] -> deltas [0, .5, .5]; Δmin 0, Δmax .5
    xi = (0 + 0.5 * 0.5) / (np.array([0.0, 0.5, 0.5]) + 0.5 * 0.5)
    np.testing.assert_allclose(grey_relational_grades(features, reference), [1.0, xi.mean()])


def test_closer_features_grade_higher():
    rng = np.random.default_rng(0)
    reference = np.sin(np.linspace(0, 20, 500))
    features = np.column_stack([reference + s * rng.normal(size=500) for s in (0.01, 0.3, 3.0)])
    grades = grey_relational_grades(features, reference)
    assert grades[0] > grades[1] > grades[2]


def test_selection_rules():
    grades = np.array([0.9, 0.5, 0.7, 0.2])
    np.testing.assert_array_equal(select_by_grade(grades), [0, 1, 2, 3])
    np.testing.assert_array_equal(select_by_grade(grades, top_k=2), [0, 2])
    np.testing.assert_array_equal(select_by_grade(grades, min_grade=0.6), [0, 2])
    np.testing.assert_array_equal(select_by_grade(grades, min_grade=0.95), [0])  # never empty


def test_bad_rho_is_refused():
    with pytest.raises(ValueError, match="distinguishing coefficient"):
        grey_relational_grades(np.ones((3, 2)), np.ones(3), rho=0)
