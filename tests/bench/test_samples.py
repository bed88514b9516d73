from __future__ import annotations

from pathlib import Path

import pytest

from csteer.bench.samples import plan_samples, select_tasks
from csteer.errors import UsageError
from csteer.symbench.base import get_task
from csteer.symbench.generate import generate_samples


def test_generated_samples_are_reproducible_and_prefix_stable() -> None:
    task = get_task("number_multiply")
    four = generate_samples(task.id, 4, None, seed=7)
    assert [s.id for s in four] == [s.id for s in generate_samples(task.id, 4, None, seed=7)]
    # asking for more keeps the first ones: a larger --samples run extends a results file
    assert [s.id for s in generate_samples(task.id, 6, None, seed=7)][:4] == [s.id for s in four]
    assert len({s.id for s in four}) == 4
    assert [s.id for s in generate_samples(task.id, 4, None, seed=8)] != [s.id for s in four]


def test_seeding_is_pinned_so_existing_results_files_keep_their_samples() -> None:
    # ids drawn with the seeding bench results were written with; a change here orphans their rows
    assert [s.id for s in generate_samples("number_multiply", 3, None, seed=7)] == [
        "number_multiply/digit_2_2/sample_01117d6ef2",
        "number_multiply/digit_2_2/sample_c43ff9bb09",
        "number_multiply/digit_2_2/sample_f8a9122a58",
    ]
    assert [s.id for s in generate_samples("cryptanalysis", 2, None, seed=0)] == [
        "sample_1921986e17",
        "sample_5dd04524da",
    ]


def test_complexity_changes_the_samples_and_is_checked() -> None:
    task = get_task("number_multiply")
    hard = generate_samples(task.id, 2, 6, seed=1)
    assert all("digit_8_8" in s.id for s in hard)
    with pytest.raises(UsageError, match="complexity must be one of"):
        generate_samples(task.id, 2, 99, seed=1)


def test_task_selection_by_split_and_list() -> None:
    unseen = select_tasks("unseen")
    assert not unseen.explicit and unseen.tasks
    assert {t.split for t in unseen.tasks} == {"unseen"}
    picked = select_tasks("letters, number_multiply,letters")
    assert picked.explicit and [t.id for t in picked.tasks] == ["letters", "number_multiply"]
    with pytest.raises(UsageError, match="unknown SymBench task"):
        select_tasks("no_such_task")


def test_fixed_datasets_need_data_when_named_and_are_skipped_in_a_split() -> None:
    notes: list[str] = []
    with pytest.raises(UsageError, match="fixed dataset"):
        plan_samples(select_tasks("gsm_hard"), 2, None, 0, None, notes.append)
    plans = plan_samples(select_tasks("seen"), 1, None, 0, None, notes.append)
    assert "gsm_hard" not in {p.task.id for p in plans}
    assert any("gsm_hard" in n for n in notes)


def test_loaded_samples_come_from_the_data_folder(tmp_path: Path) -> None:
    from csteer.symbench.loader import write_samples

    task = get_task("number_multiply")
    written = generate_samples(task.id, 5, 2, seed=3)
    write_samples("number_multiply", written, tmp_path)
    plans = plan_samples(select_tasks("number_multiply"), 3, None, 11, tmp_path, lambda _m: None)
    [plan] = plans
    assert plan.complexity is None and len(plan.samples) == 3
    assert {s.id for s in plan.samples} <= {s.id for s in written}
    again = plan_samples(select_tasks("number_multiply"), 3, None, 11, tmp_path, lambda _m: None)
    assert [s.id for s in again[0].samples] == [s.id for s in plan.samples]
    with pytest.raises(UsageError, match="no samples under"):
        plan_samples(select_tasks("letters"), 3, None, 11, tmp_path, lambda _m: None)
