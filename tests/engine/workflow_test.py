"""Tests for treelane.engine.workflow: parsing, validation, source ranges."""

from __future__ import annotations

import json
import pickle
import random
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from treelane.engine.workflow import (
    CONFIG_FILE,
    Config,
    ConfigError,
    Problem,
    Range,
    Settings,
    Task,
    Workflow,
    check_config,
    load_config,
    parse_config,
    parse_workflow_dict,
    topological_order,
)

README_EXAMPLE = """\
[settings]
max_parallel = "auto"      # or a positive int; "auto" adapts to CPU and memory
pool_size = 4              # warm worktrees kept (int >= 0)
memory_per_task_mb = 500   # estimate used by "auto" (int > 0)
cache_salt = ""            # string mixed into every cache key (tool versions etc.)
worktrees_dir = ""         # optional: where managed worktrees live
include = [".env", ".venv"] # ignored files/folders of the main worktree
setup = "npm ci"           # optional command run once when a worktree is created
reset = "keep-ignored"     # or "pristine" (how a released worktree is cleaned)

[limits]                   # named concurrency limits: name -> positive int
api = 2

[workflows.feature]
base = "HEAD"              # any commit-ish (string); default "HEAD"
description = "..."        # optional string

[workflows.feature.tasks.plan]
run = "python tools/plan.py > PLAN.md"   # required string, non-empty
uses = ["api"]             # list of limit names
needs = []                 # list of task names in the same workflow (order matters)
timeout = 900              # seconds, number > 0, optional
retries = 1                # int >= 0, default 0
isolation = "worktree"     # or "shared"
env = { DOCS_STRICT = "1" }  # table of string -> string
cache = true               # bool, default true
cache_ttl = 3600           # seconds, number > 0, optional
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / CONFIG_FILE
    path.write_text(text, encoding="utf-8")
    return path


def marked(text: str) -> tuple[str, Range]:
    """Strip the « » markers from ``text``; return it and the range they enclosed."""
    start, end = text.index("«"), text.index("»") - 1
    clean = text.replace("«", "").replace("»", "")
    return clean, Range(*position(clean, start), *position(clean, end))


def position(text: str, offset: int) -> tuple[int, int]:
    before = text[:offset]
    return before.count("\n"), offset - (before.rfind("\n") + 1)


def errors(text: str) -> list[Problem]:
    return [problem for problem in check_config(text) if problem.severity == "error"]


def assert_inside(text: str, where: Range) -> None:
    lines = text.split("\n")
    assert 0 <= where.start_line <= where.end_line < len(lines), where
    assert (where.start_line, where.start_col) <= (where.end_line, where.end_col), where
    assert 0 <= where.start_col <= len(lines[where.start_line]), where
    assert 0 <= where.end_col <= len(lines[where.end_line]), where


def source_of(text: str, where: Range) -> str:
    lines = text.split("\n")
    if where.start_line == where.end_line:
        return lines[where.start_line][where.start_col : where.end_col]
    middle = lines[where.start_line + 1 : where.end_line]
    parts = [lines[where.start_line][where.start_col :], *middle]
    return "\n".join([*parts, lines[where.end_line][: where.end_col]])


# --------------------------------------------------------------------------- valid documents


def test_readme_example_parses_to_dataclasses(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, README_EXAMPLE))

    assert config.settings == Settings(
        max_parallel="auto",
        pool_size=4,
        memory_per_task_mb=500,
        cache_salt="",
        worktrees_dir="",
        include=(".env", ".venv"),
        setup="npm ci",
        reset="keep-ignored",
    )
    assert dict(config.limits) == {"api": 2}
    plan = Task(
        name="plan",
        run="python tools/plan.py > PLAN.md",
        needs=(),
        uses=("api",),
        timeout=900,
        retries=1,
        isolation="worktree",
        env=(("DOCS_STRICT", "1"),),
        cache=True,
        cache_ttl=3600,
    )
    assert dict(config.workflows) == {
        "feature": Workflow(name="feature", base="HEAD", tasks=(plan,), description="...")
    }
    assert config.problems == ()
    assert plan.env_dict == {"DOCS_STRICT": "1"}


def test_defaults_for_omitted_keys() -> None:
    config = parse_config('[workflows.w.tasks.t]\nrun = "make"\n')

    assert config.settings == Settings()
    assert dict(config.limits) == {}
    assert config.workflows["w"] == Workflow("w", "HEAD", (Task("t", "make"),))


def test_load_config_missing_file_gives_defaults(tmp_path: Path) -> None:
    assert load_config(tmp_path / CONFIG_FILE) == Config()
    assert load_config(tmp_path) == Config()
    assert dict(load_config(tmp_path).workflows) == {}


def test_load_config_accepts_the_repository_directory(tmp_path: Path) -> None:
    write(tmp_path, README_EXAMPLE)

    assert list(load_config(tmp_path).workflows) == ["feature"]


def test_load_config_reports_invalid_utf8(tmp_path: Path) -> None:
    (tmp_path / CONFIG_FILE).write_bytes(b'[settings]\nsetup = "\xff"\n')

    with pytest.raises(ConfigError, match="not valid UTF-8"):
        load_config(tmp_path)


def test_load_config_error_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[workflows.w.tasks.t]\nrun = 1\n")

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert str(caught.value) == (
        f"{path}:2:1: workflows.w.tasks.t.run: expected a non-empty string, got 1"
    )


def test_quoted_dotted_and_inline_spellings_are_equivalent() -> None:
    headers = """\
[workflows."my-wf".tasks.build]
run = "make"
[ workflows . 'my-wf' . tasks . test ]
run = "make test"
needs = ["build"]
"""
    dotted = """\
[workflows.my-wf]
tasks.build.run = "make"
tasks . "test" . run = "make test"
tasks.test.needs = ["build"]
"""
    inline = """\
workflows = { my-wf = { tasks = { build = { run = "make" }, test = { run = "make test", \
needs = ["build"] } } } }
"""
    configs = [parse_config(text) for text in (headers, dotted, inline)]

    assert configs[0] == configs[1] == configs[2]
    assert configs[0].workflows["my-wf"].names() == ["build", "test"]


def test_crlf_documents_parse() -> None:
    text = README_EXAMPLE.replace("\n", "\r\n")

    assert parse_config(text) == parse_config(README_EXAMPLE)


def test_warnings_do_not_fail_parsing() -> None:
    text = """\
[workflows.w.tasks.a]
run = "a"
[workflows.w.tasks.b]
run = "b"
needs = ["a", "a"]
cache = false
cache_ttl = 60
"""
    config = parse_config(text)

    assert config.workflows["w"].task("b").needs == ("a",)
    assert [(p.severity, p.range.start_line, p.message) for p in config.problems] == [
        ("warning", 4, "workflows.w.tasks.b.needs[1]: 'a' is listed twice"),
        ("warning", 6, "workflows.w.tasks.b.cache_ttl: has no effect when cache = false"),
    ]
    assert check_config(text) == list(config.problems)


# --------------------------------------------------------------------------- exact ranges

SINGLE_PROBLEMS = [
    pytest.param(
        '[workflows.w.tasks.build]\nrun = "make"\n«need» = []\n',
        "unknown key 'need' in task 'build' (did you mean 'needs'?)",
        id="unknown-task-key",
    ),
    pytest.param(
        "[settings]\n«max_paralel» = 2\n",
        "unknown key 'max_paralel' in [settings] (did you mean 'max_parallel'?)",
        id="unknown-settings-key",
    ),
    pytest.param(
        '«[workflow.w.tasks.t]»\nrun = "x"\n',
        "unknown key 'workflow' at the top level (did you mean 'workflows'?)",
        id="unknown-top-level-table",
    ),
    pytest.param(
        '[workflows.w]\n«tasks.build.need» = ["x"]\ntasks.build.run = "make"\n',
        "unknown key 'need' in task 'build' (did you mean 'needs'?)",
        id="unknown-dotted-key",
    ),
    pytest.param(
        '[workflows.w.tasks.plan]\nrun = "p"\n[workflows.w.tasks.build]\nrun = "b"\n'
        'needs = ["plan", «"plna"»]\n',
        "task 'build' needs unknown task 'plna' (did you mean 'plan'?)",
        id="unknown-need",
    ),
    pytest.param(
        '[workflows.w.tasks.a]\nrun = "a"\n[workflows.w.tasks.b]\nrun = "b"\n'
        'needs = [\n  "a",  # first\n  «"zz"»,\n]\n',
        "task 'b' needs unknown task 'zz'",
        id="unknown-need-multiline-array",
    ),
    pytest.param(
        '[workflows.w.tasks.t]\nrun = "t"\nneeds = [«"t"»]\n',
        "task 't' needs itself",
        id="needs-itself",
    ),
    pytest.param(
        '[limits]\napi = 1\n[workflows.w.tasks.t]\nrun = "t"\nuses = ["api", «"apx"»]\n',
        "task 't' uses undefined limit 'apx' (did you mean 'api'?)",
        id="undefined-limit",
    ),
    pytest.param(
        "«[workflows.w.tasks.build]»\nneeds = []\n",
        "missing required key 'run' in task 'build'",
        id="missing-run-header",
    ),
    pytest.param(
        "[workflows.w]\n«tasks.build».retries = 1\n",
        "missing required key 'run' in task 'build'",
        id="missing-run-dotted",
    ),
    pytest.param(
        "[workflows.w]\ntasks = { «build» = { retries = 1 } }\n",
        "missing required key 'run' in task 'build'",
        id="missing-run-inline",
    ),
    pytest.param(
        '[workflows.w.tasks.t]\n«run» = "  "\n',
        'workflows.w.tasks.t.run: expected a non-empty string, got "  "',
        id="empty-run",
    ),
    pytest.param(
        '[ workflows . "my-wf" . tasks . \'x\' ]\nrun = "a"\n«retries» = -1\n',
        "workflows.my-wf.tasks.x.retries: expected an integer >= 0, got -1",
        id="bad-int-quoted-header",
    ),
    pytest.param(
        '[workflows.w]\ntasks.t.run = "a"\n«tasks.t.timeout» = 0\n',
        "workflows.w.tasks.t.timeout: expected a positive number of seconds, got 0",
        id="bad-timeout-dotted",
    ),
    pytest.param(
        '[workflows.w.tasks.t]\nrun = "a"\n«cache» = "yes"\n',
        'workflows.w.tasks.t.cache: expected true or false, got "yes"',
        id="bad-bool",
    ),
    pytest.param(
        '[workflows.w.tasks.t]\nrun = "a"\nenv = { GOOD = "1", «9BAD» = "2" }\n',
        "invalid environment variable name '9BAD':"
        " expected letters, digits and '_', not starting with a digit",
        id="bad-env-name-inline-table",
    ),
    pytest.param(
        '[workflows.w.tasks.t]\nrun = "a"\nenv = { «PORT» = 8080 }\n',
        "workflows.w.tasks.t.env.PORT: expected a string, got 8080",
        id="bad-env-value",
    ),
    pytest.param(
        '[workflows.w.tasks.a]\nrun = "a"\n[workflows.w.tasks.b]\nrun = "b"\n'
        '[workflows.w.tasks.c]\nrun = "c"\nneeds = ["a", "b"]\n«isolation» = "shared"\n',
        "task 'c' has isolation = \"shared\" but needs 2 tasks; a shared task may need at most one",
        id="shared-with-two-needs",
    ),
    pytest.param(
        '«[workflows.empty]»\ndescription = "nothing yet"\n',
        "workflow 'empty' has no tasks",
        id="workflow-without-tasks",
    ),
    pytest.param(
        "[workflows.w]\n«tasks» = {}\n",
        "workflow 'w' has no tasks",
        id="workflow-with-empty-tasks",
    ),
    pytest.param(
        '«[workflows.w.tasks."has space"]»\nrun = "x"\n',
        "invalid task name 'has space': names must start with a letter or digit, contain only"
        " letters, digits, '_', '.' and '-', and be at most 64 characters",
        id="invalid-task-name",
    ),
    pytest.param(
        '«[workflows."a..b".tasks.t]»\nrun = "x"\n',
        "invalid workflow name 'a..b': names must not contain '..' or end with '.' or '.lock'"
        " (git ref rules)",
        id="invalid-workflow-name-git-rules",
    ),
    pytest.param(
        "[limits]\n«api» = 0\n",
        "limits.api: expected a positive integer, got 0",
        id="bad-limit",
    ),
    pytest.param(
        '[settings]\n«reset» = "clean"\n',
        'settings.reset: expected "keep-ignored" or "pristine", got "clean"',
        id="bad-choice",
    ),
    pytest.param(
        '[settings]\n«max_parallel» = "many"\n',
        'settings.max_parallel: expected "auto" or a positive integer, got "many"',
        id="bad-max-parallel",
    ),
    pytest.param(
        '[settings]\ninclude = [".env", «"/etc/passwd"»]\n',
        'settings.include[1]: must be a path relative to the repository root, got "/etc/passwd"',
        id="absolute-include",
    ),
    pytest.param(
        '[settings]\ninclude = [«"../secrets"»]\n',
        "settings.include[0]: must not contain '..', got \"../secrets\"",
        id="parent-include",
    ),
    pytest.param(
        '[workflows.w.tasks.t]\nrun = "a"\n«needs» = "b"\n',
        'workflows.w.tasks.t.needs: expected a list of task names, got "b"',
        id="needs-not-a-list",
    ),
]


@pytest.mark.parametrize(("text", "message"), SINGLE_PROBLEMS)
def test_single_problem_message_and_range(text: str, message: str) -> None:
    clean, expected = marked(text)

    assert [(p.message, p.range) for p in check_config(clean)] == [(message, expected)]
    with pytest.raises(ConfigError) as caught:
        parse_config(clean)
    assert [p.message for p in caught.value.problems] == [message]


def test_key_ranges_are_exact() -> None:
    text = '[workflows.w.tasks.t]\nrun = "a"\n  needs = "b"\n'

    (problem,) = check_config(text)

    assert problem.range == Range(2, 2, 2, 7)


def test_dotted_key_range_covers_the_whole_key() -> None:
    text = '[workflows.w]\ntasks.t.run = "a"\ntasks . t . retries = true\n'

    (problem,) = check_config(text)

    assert problem.range == Range(2, 0, 2, 19)
    assert source_of(text, problem.range) == "tasks . t . retries"


def test_multiline_string_element_range() -> None:
    text = '[workflows.w.tasks.t]\nrun = "a"\nneeds = ["""\nx\ny"""]\n'

    (problem,) = check_config(text)

    assert problem.range == Range(2, 9, 4, 4)


def test_locator_handles_odd_but_valid_toml() -> None:
    text = "\n".join(
        [
            "when = 1979-05-27 07:32:00Z # a date with a space, then a comment",
            "notes = '''it's ''quoted''''' # content ends with two quotes",
            "[[workflows.w.tasks]]",
            'run = "a"',
            r'[workflows."caf\u00e9".tasks.t]',
            r'run = """x \""" y"""',
            r'"a\"b" = 1',
        ]
    )
    found = [(p.message.split(":")[0], source_of(text, p.range)) for p in check_config(text)]

    assert found == [
        ("unknown key 'when' at the top level", "when"),
        ("unknown key 'notes' at the top level", "notes"),
        ("workflows.w.tasks", "[[workflows.w.tasks]]"),
        ("invalid workflow name 'café'", r'[workflows."caf\u00e9".tasks.t]'),
        ("unknown key 'a\"b' in task 't'", r'"a\"b"'),
    ]


def test_array_of_tables_paths_index_each_element() -> None:
    text = "[[workflows]]\nx = 1\n[[workflows]]\ny = 2\n"

    (problem,) = check_config(text)

    assert problem.message == "workflows: expected a table, got an array"
    assert problem.range == Range(0, 0, 0, 13)


def test_syntax_error_position_is_the_only_problem() -> None:
    text = "[settings]\nbogus = 1\npool_size = = 3\n"

    (problem,) = check_config(text)

    assert problem.message == "TOML syntax error: Invalid value"
    assert problem.range == Range(2, 12, 2, 15)


def test_syntax_error_at_end_of_document() -> None:
    text = "[settings]\ninclude = [1,\n  2"

    (problem,) = check_config(text)

    assert problem.message == "TOML syntax error: Unclosed array"
    assert problem.range == Range(2, 3, 2, 3)


def test_deeply_nested_values_are_a_problem_not_a_crash() -> None:
    text = "x = " + "[" * 5000 + "]" * 5000

    (problem,) = check_config(text)

    assert "nested too deeply" in problem.message


# --------------------------------------------------------------------------- many problems


def test_every_problem_is_reported_at_once() -> None:
    text = """\
[settings]
pool_size = -1
colour = "auto"

[workflows.feature.tasks.build]
run = "make"
needs = ["tset"]
uses = ["gpu"]

[workflows.feature.tasks.test]
retries = 1.5

[workflows.docs]
"""
    with pytest.raises(ConfigError) as caught:
        parse_config(text)

    assert str(caught.value).splitlines() == [
        "treelane.toml:2:1: settings.pool_size: expected an integer >= 0, got -1",
        "treelane.toml:3:1: unknown key 'colour' in [settings]",
        "treelane.toml:7:10: task 'build' needs unknown task 'tset' (did you mean 'test'?)",
        "treelane.toml:8:9: task 'build' uses undefined limit 'gpu'",
        "treelane.toml:10:1: missing required key 'run' in task 'test'",
        "treelane.toml:11:1: workflows.feature.tasks.test.retries: expected an integer >= 0,"
        " got 1.5",
        "treelane.toml:13:1: workflow 'docs' has no tasks",
    ]


def test_cycle_is_named_and_located_at_the_closing_need() -> None:
    text = """\
[workflows.w.tasks.build]
run = "make"
needs = ["lint", "test"]
[workflows.w.tasks.lint]
run = "lint"
[workflows.w.tasks.test]
run = "make test"
needs = ["build"]
"""
    (problem,) = check_config(text)

    assert problem.message == "cycle: build -> test -> build"
    assert problem.range == Range(2, 17, 2, 23)


def test_disjoint_cycles_are_each_reported_once() -> None:
    text = """\
[workflows.w.tasks]
a = { run = "a", needs = ["b"] }
b = { run = "b", needs = ["c"] }
c = { run = "c", needs = ["a"] }
d = { run = "d", needs = ["e"] }
e = { run = "e", needs = ["d", "a"] }
"""
    messages = [problem.message for problem in check_config(text)]

    assert messages == ["cycle: a -> b -> c -> a", "cycle: d -> e -> d"]


def test_config_error_str_and_pickle() -> None:
    problem = Problem("boom", Range(4, 2, 4, 6))
    err = ConfigError([problem, Problem("bang", Range(0, 0, 0, 0))])

    assert str(err) == "treelane.toml:5:3: boom\ntreelane.toml:1:1: bang"
    assert isinstance(err, ValueError)
    clone = pickle.loads(pickle.dumps(err))
    assert clone.problems == err.problems
    assert str(clone) == str(err)


# --------------------------------------------------------------------------- inline workflows


def test_parse_workflow_dict_valid() -> None:
    data = {
        "description": "docs",
        "tasks": {
            "build": {"run": "make", "uses": ["api"], "timeout": 1.5},
            "test": {"run": "make test", "needs": ["build"], "env": {"CI": "1"}},
        },
    }

    wf = parse_workflow_dict("docs", data, {"api": 1})

    assert wf == Workflow(
        name="docs",
        base="HEAD",
        description="docs",
        tasks=(
            Task("build", "make", uses=("api",), timeout=1.5),
            Task("test", "make test", needs=("build",), env=(("CI", "1"),)),
        ),
    )


def test_parse_workflow_dict_reports_field_paths() -> None:
    data = {
        "base": "",
        "tasks": {
            "build": {"run": "make", "needs": "plan", "uses": ["gpu"]},
            "test": {"run": ["x"], "neds": []},
        },
    }
    with pytest.raises(ConfigError) as caught:
        parse_workflow_dict("wf", data, {})

    assert [p.message for p in caught.value.problems] == [
        'base: expected a non-empty string, got ""',
        'tasks.build.needs: expected a list of task names, got "plan"',
        "unknown key 'neds' in task 'test' (did you mean 'needs'?)",
        "tasks.test.run: expected a non-empty string, got an array",
        "task 'build' uses undefined limit 'gpu'",
    ]
    assert {p.range for p in caught.value.problems} == {Range(0, 0, 0, 0)}
    assert str(caught.value).splitlines()[0] == 'base: expected a non-empty string, got ""'


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("wf", ["not", "a", "table"], "workflow 'wf': expected a table, got an array"),
        ("wf", {}, "workflow 'wf' has no tasks"),
        ("bad/name", {"tasks": {"t": {"run": "x"}}}, "invalid workflow name 'bad/name'"),
        ("wf", {"tasks": {"t": "echo"}}, 'tasks.t: expected a table, got "echo"'),
        ("wf", {"tasks": {1: {"run": "x"}}}, "tasks: expected a table with string keys"),
    ],
)
def test_parse_workflow_dict_invalid(name: str, data: object, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_workflow_dict(name, data, {})

    assert caught.value.problems[0].message.startswith(message)


def test_to_dict_round_trips_through_json() -> None:
    wf = parse_config(README_EXAMPLE).workflows["feature"]

    data = json.loads(json.dumps(wf.to_dict()))

    assert parse_workflow_dict("feature", data, {"api": 2}) == wf
    assert data["tasks"]["plan"]["needs"] == []
    assert "timeout" not in Task("t", "x").to_dict()


# --------------------------------------------------------------------------- graph helpers


def diamond() -> Workflow:
    return Workflow(
        "w",
        "HEAD",
        (
            Task("d", "d", needs=("b", "c")),
            Task("c", "c"),
            Task("b", "b", needs=("a",)),
            Task("a", "a"),
        ),
    )


def test_topological_order_prefers_file_order_among_ready_tasks() -> None:
    assert topological_order(diamond()) == ["c", "a", "b", "d"]


def test_topological_order_rejects_cycles_and_unknown_needs() -> None:
    cyclic = Workflow("w", "HEAD", (Task("a", "a", needs=("b",)), Task("b", "b", needs=("a",))))
    dangling = Workflow("w", "HEAD", (Task("a", "a", needs=("zz",)),))

    with pytest.raises(ValueError, match="cycle"):
        topological_order(cyclic)
    with pytest.raises(ValueError, match="unknown task 'zz'"):
        topological_order(dangling)


def test_workflow_lookups() -> None:
    wf = diamond()

    assert wf.names() == ["d", "c", "b", "a"]
    assert wf.sinks() == ["d"]
    assert wf.task("b").needs == ("a",)
    with pytest.raises(KeyError):
        wf.task("nope")


# --------------------------------------------------------------------------- fuzzing

NAME = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,6}", fullmatch=True)
ODD_KEY = st.text(max_size=6)
KEY = st.one_of(NAME, NAME, ODD_KEY)
SCALAR = st.one_of(
    st.booleans(),
    st.integers(-3, 5000),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)


def maybe(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly valid values, sometimes anything."""
    return st.one_of(valid, valid, valid, SCALAR, st.lists(SCALAR, max_size=2))


def task_strategy(names: list[str], limits: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    pick = st.sampled_from(names) | NAME
    return st.fixed_dictionaries(
        {"run": maybe(st.text(min_size=1, max_size=10))},
        optional={
            "needs": maybe(st.lists(maybe(pick), max_size=3)),
            "uses": maybe(st.lists(maybe(st.sampled_from(limits) | NAME), max_size=2)),
            "timeout": maybe(st.floats(0.5, 1e4)),
            "retries": maybe(st.integers(0, 3)),
            "isolation": maybe(st.sampled_from(["worktree", "shared"])),
            "env": maybe(st.dictionaries(KEY, maybe(st.text(max_size=5)), max_size=3)),
            "cache": maybe(st.booleans()),
            "cache_ttl": maybe(st.integers(1, 10**6)),
            "unknown": SCALAR,
        },
    )


@st.composite
def workflow_strategy(draw: st.DrawFn, limits: list[str]) -> dict[str, Any]:
    names = draw(st.lists(KEY, min_size=0, max_size=4, unique=True))
    tasks = {name: draw(task_strategy(names or ["x"], limits or ["x"])) for name in names}
    return draw(
        st.fixed_dictionaries(
            {"tasks": st.just(tasks)},
            optional={"base": maybe(st.just("main")), "description": maybe(st.text(max_size=8))},
        )
    )


@st.composite
def document_strategy(draw: st.DrawFn) -> dict[str, Any]:
    limits = draw(st.dictionaries(KEY, maybe(st.integers(1, 4)), max_size=3))
    settings_table = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "max_parallel": maybe(st.sampled_from(["auto", 2])),
                "pool_size": maybe(st.integers(0, 8)),
                "include": maybe(st.lists(maybe(st.sampled_from([".env", "/abs", "a/../b"])))),
                "reset": maybe(st.sampled_from(["keep-ignored", "pristine"])),
                "setup": maybe(st.text(max_size=8)),
            },
        )
    )
    workflows = draw(st.dictionaries(KEY, workflow_strategy(list(limits)), max_size=3))
    return {"settings": settings_table, "limits": limits, "workflows": workflows}


class TomlWriter:
    """Serialise a document in randomly chosen, equivalent TOML spellings."""

    def __init__(self, rnd: random.Random) -> None:
        self.rnd = rnd

    def key(self, name: str) -> str:
        if re.fullmatch(r"[A-Za-z0-9_-]+", name) and self.rnd.random() < 0.8:
            return name
        if self.rnd.random() < 0.5 and re.fullmatch(r"[^'\x00-\x1f\x7f]*", name):
            return f"'{name}'"
        return self.basic_string(name)

    def basic_string(self, text: str) -> str:
        return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")

    def dotted(self, names: list[str]) -> str:
        return self.rnd.choice([".", " . ", ". "]).join(self.key(name) for name in names)

    def value(self, value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return repr(value)
        if isinstance(value, str):
            if self.rnd.random() < 0.2:
                return f'"""\n{self.basic_string(value)[1:-1]}"""'
            return self.basic_string(value)
        if isinstance(value, list):
            items = [self.value(item) for item in value]
            if items and self.rnd.random() < 0.3:
                return "[\n  " + ",  # note\n  ".join(items) + ",\n]"
            return "[" + ", ".join(items) + "]"
        pairs = [f"{self.key(k)} = {self.value(v)}" for k, v in value.items()]
        return "{ " + ", ".join(pairs) + " }"

    def comment(self) -> str:
        return self.rnd.choice(["", "", "  # comment", "\t#"])

    def table(self, path: list[str], data: dict[str, Any]) -> list[str]:
        """Key/value lines of a table, then the sections of its header-style subtables."""
        lines: list[str] = []
        sections: list[tuple[str, Any]] = []
        for name, value in data.items():
            style = self.rnd.choice(["header", "dotted", "inline"])
            if isinstance(value, dict) and style == "header":
                sections.append((name, value))
            elif isinstance(value, dict) and value and style == "dotted":
                lines += self.dotted_lines([name], value)
            else:
                lines.append(f"{self.key(name)} = {self.value(value)}{self.comment()}")
        for name, value in sections:
            lines += ["", f"[{self.dotted([*path, name])}]{self.comment()}"]
            lines += self.table([*path, name], value)
        return lines

    def dotted_lines(self, prefix: list[str], data: dict[str, Any]) -> list[str]:
        lines: list[str] = []
        for name, value in data.items():
            if isinstance(value, dict) and value and self.rnd.random() < 0.7:
                lines += self.dotted_lines([*prefix, name], value)
            else:
                lines.append(f"{self.dotted([*prefix, name])} = {self.value(value)}")
        return lines

    def document(self, data: dict[str, Any]) -> str:
        text = "\n".join(self.table([], data)) + "\n"
        return text.replace("\n", "\r\n") if self.rnd.random() < 0.2 else text


def check_document(text: str) -> list[Problem]:
    """The fuzzing oracle: only ConfigError, and every range inside the document."""
    problems = check_config(text)
    for problem in problems:
        assert_inside(text, problem.range)
    try:
        config = parse_config(text)
    except ConfigError as err:
        assert err.problems
        assert all(p.severity == "error" for p in err.problems)
    else:
        assert not [p for p in problems if p.severity == "error"]
        for name, wf in config.workflows.items():
            assert parse_workflow_dict(name, wf.to_dict(), config.limits) == wf
            assert sorted(topological_order(wf)) == sorted(wf.names())
    return problems


FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(document_strategy(), st.randoms(use_true_random=False))
def test_fuzz_schema_documents(document: dict[str, Any], rnd: random.Random) -> None:
    check_document(TomlWriter(rnd).document(document))


@FUZZ
@given(document_strategy(), st.randoms(use_true_random=False), st.data())
def test_fuzz_unknown_key_is_located(
    document: dict[str, Any], rnd: random.Random, data: st.DataObject
) -> None:
    tasks = [
        task
        for wf in document["workflows"].values()
        for task in wf["tasks"].values()
        if isinstance(task, dict)
    ]
    if not tasks:
        return
    data.draw(st.sampled_from(tasks))["bogus_key"] = 1
    text = TomlWriter(rnd).document(document)

    problems = check_document(text)

    located = [p for p in problems if p.message.startswith("unknown key 'bogus_key'")]
    assert located
    assert all("bogus_key" in source_of(text, p.range) for p in located)


@FUZZ
@given(st.one_of(st.text(), st.text(alphabet="[]{}=\"'.,#\\ \t\r\nab1_-+:")))
def test_fuzz_random_text(text: str) -> None:
    check_document(text)


JSON = st.recursive(
    st.none() | SCALAR,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=12,
)


@FUZZ
@given(st.one_of(workflow_strategy(["api"]), JSON))
def test_fuzz_inline_workflows(data: object) -> None:
    try:
        wf = parse_workflow_dict("wf", data, {"api": 1})
    except ConfigError as err:
        assert err.problems
    else:
        assert parse_workflow_dict("wf", wf.to_dict(), {"api": 1}) == wf
