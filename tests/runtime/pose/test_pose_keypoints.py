"""Keypoint specs: COCO/MPII facts against the references, PoseNFS Table I."""

from __future__ import annotations

import pytest

from archc.runtime.pose.keypoints import COCO, MPII, check_parts, get_spec, is_partition


def test_coco_matches_reference() -> None:
    assert COCO.names[:3] == ("nose", "left_eye", "right_eye")
    assert COCO.names[-1] == "right_ankle" and COCO.num_keypoints == 17
    assert len(COCO.sigmas) == 17 and COCO.sigmas[0] == 0.026 and COCO.sigmas[11] == 0.107
    assert len(COCO.skeleton) == 19
    for a, b in COCO.flip_pairs:
        assert COCO.names[a].replace("left", "right") == COCO.names[b]


def test_mpii_matches_standard_order() -> None:
    assert MPII.names[0] == "r_ankle" and MPII.names[-1] == "l_wrist"
    assert MPII.names[6:10] == ("pelvis", "thorax", "upper_neck", "head_top")
    assert len(MPII.sigmas) == 16
    for a, b in MPII.flip_pairs:
        assert MPII.names[a].replace("r_", "l_") == MPII.names[b]


@pytest.mark.parametrize("spec", [COCO, MPII], ids=lambda s: s.name)
def test_flip_index_is_an_involution(spec) -> None:
    fi = spec.flip_index
    assert sorted(fi) == list(range(spec.num_keypoints))
    assert [fi[i] for i in fi] == list(range(spec.num_keypoints))
    assert fi[0] == (0 if spec is COCO else 5)


@pytest.mark.parametrize("spec", [COCO, MPII], ids=lambda s: s.name)
def test_parts_follow_posenfs_table_one(spec) -> None:
    check_parts(spec)
    assert sorted(spec.parts) == [1, 3, 5, 8]
    for p in (1, 3, 5):
        assert is_partition(spec.parts[p], spec.num_keypoints), p
    # P = 8 overlaps on purpose (Table I): shoulders and elbows, knees twice.
    assert not is_partition(spec.parts[8], spec.num_keypoints)


def test_coco_p8_overlaps_exactly_as_the_table() -> None:
    counts = [sum(k in part for part in COCO.parts[8]) for k in range(17)]
    twice = {COCO.names[k] for k, c in enumerate(counts) if c == 2}
    assert twice == {n for n in COCO.names if n.endswith(("shoulder", "elbow", "knee"))}
    assert COCO.parts[5][3] == (11, 12)  # thigh: the two hips


def test_mpii_groups_remapped_from_paper_order_by_name() -> None:
    def names(part):
        return {MPII.names[i] for i in part}

    head, upper, lower = (names(p) for p in MPII.parts[3])
    assert head == {"head_top", "upper_neck", "thorax"}
    assert "l_wrist" in upper and "pelvis" in lower
    assert names(MPII.parts[5][3]) == {"l_hip", "r_hip", "pelvis"}
    assert names(MPII.parts[8][1]) == {"l_shoulder", "l_elbow"}


def test_check_parts_rejects_an_uncovered_keypoint() -> None:
    from dataclasses import replace

    bad = replace(COCO, parts={3: ((0, 1), (2, 3), tuple(range(4, 16)))})
    with pytest.raises(ValueError, match=r"keypoints \[16\] in no part"):
        check_parts(bad)


def test_get_spec_helps_with_unknown_names() -> None:
    assert get_spec("COCO") is COCO and get_spec("mpii") is MPII
    assert len({COCO: 1, MPII: 2}) == 2  # specs are hashable
    with pytest.raises(KeyError, match="Did you mean 'coco'"):
        get_spec("cocoo")
    with pytest.raises(KeyError, match="close: \\['left_eye'"):
        COCO.index("left_eyes")
