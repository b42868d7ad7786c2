"""Quick fixes for treelane.toml problems, on documents of every shape: each fix offered must
give a document that parses and no longer has the problem it names; none is offered where
no whole-line edit can do that (inline tables)."""

from __future__ import annotations

import pytest

from treelane.engine.workflow import check_config
from treelane.server.codeactions import Fix, apply, fixes


def all_fixes(text: str) -> list[Fix]:
    return fixes(text, check_config(text))


def titled(text: str, title: str) -> Fix:
    found = [f for f in all_fixes(text) if f.title == title]
    assert len(found) == 1, [f.title for f in all_fixes(text)]
    return found[0]


DOCUMENTS = [
    '[settings]\nmax_paralel = 3\npool_size = 2\n\n[workflows.w.tasks.a]\nrun = "x"\n',
    'settings.max_paralel = 3\n[workflows.w.tasks.a]\nrun = "x"\n',
    '[workflows.w.taks.a]\nrun = "x"\n\n[workflows.w.taks.b]\nrun = "y"\nneeds = ["a"]\n',
    '[workflows.w]\nbogus = [\n  1,\n  2,\n]  # trailing\ndescription = "d"\n'
    '[workflows.w.tasks.a]\nrun = """\nmulti\n"""\ncolour = """\nblue\n"""\n',
    '[workflows.w.tasks.a]\nrun = "x"\nneeds = ["b", "c"]\n[workflows.v.tasks.z]\nrun = "z"\n',
    '[workflows."my.wf".tasks.a]\nrun = "x"\nneeds = ["b-2"]\n',
    '[workflows.w]\ntasks = { a = { run = "x", needs = ["b"], bogus = 1 } }\n',
    '[limits]\napi = 2\n[workflows.w.tasks.a]\nrun = "x"\nuses = ["apj"]\n',
    '[settingz]\nmax_parallel = 2\n[workflows.w.tasks.a]\nrun = "x"\n',
]


@pytest.mark.parametrize("text", DOCUMENTS)
def test_every_fix_removes_its_problem_and_keeps_the_file_valid(text: str) -> None:
    before = check_config(text)
    for fix in all_fixes(text):
        after_text = apply(text, fix.edits)
        after = check_config(after_text)
        assert not any(p.code == "syntax" for p in after), (fix.title, after_text)
        assert fix.problem.message not in [p.message for p in after], (fix.title, after_text)
        assert len(after) < len(before), (fix.title, after_text)


def test_rename_inside_a_table_header_and_a_dotted_key() -> None:
    fix = titled(DOCUMENTS[2], "Did you mean 'tasks'?")
    renamed = apply(DOCUMENTS[2], fix.edits)  # both headers under 'taks'
    assert "[workflows.w.tasks.a]" in renamed and "[workflows.w.tasks.b]" in renamed
    assert check_config(renamed) == [] and fix.preferred
    removed = apply(DOCUMENTS[2], titled(DOCUMENTS[2], "Remove unknown key 'taks'").edits)
    assert "taks" not in removed
    dotted = apply(DOCUMENTS[1], titled(DOCUMENTS[1], "Did you mean 'max_parallel'?").edits)
    assert "settings.max_parallel = 3" in dotted


def test_removal_takes_a_multi_line_value_whole() -> None:
    text = DOCUMENTS[3]
    out = apply(text, titled(text, "Remove unknown key 'bogus'").edits)
    assert out.startswith('[workflows.w]\ndescription = "d"\n')
    out = apply(text, titled(text, "Remove unknown key 'colour'").edits)
    assert out.endswith('run = """\nmulti\n"""\n')


def test_missing_task_is_added_after_its_workflow() -> None:
    text = DOCUMENTS[4]
    out = apply(text, titled(text, "Add missing task 'b' to workflow 'w'").edits)
    assert out.index("[workflows.w.tasks.b]") < out.index("[workflows.v.tasks.z]")
    quoted = apply(
        DOCUMENTS[5], titled(DOCUMENTS[5], "Add missing task 'b-2' to workflow 'my.wf'").edits
    )
    assert '[workflows."my.wf".tasks.b-2]' in quoted and check_config(quoted) == []


def test_no_fix_where_the_table_is_inline() -> None:
    titles = [f.title for f in all_fixes(DOCUMENTS[6])]
    assert titles == []  # neither the line nor an appended [table] would do it


def test_limit_and_table_name_suggestions() -> None:
    out = apply(DOCUMENTS[7], titled(DOCUMENTS[7], "Did you mean 'api'?").edits)
    assert 'uses = ["api"]' in out
    out = apply(DOCUMENTS[8], titled(DOCUMENTS[8], "Did you mean 'settings'?").edits)
    assert out.startswith("[settings]\n") and check_config(out) == []


def test_no_rename_onto_an_existing_key() -> None:
    text = '[settings]\nmax_parallel = 2\nmax_paralel = 3\n[workflows.w.tasks.a]\nrun = "x"\n'
    titles = [f.title for f in all_fixes(text)]
    assert titles == ["Remove unknown key 'max_paralel'"]
