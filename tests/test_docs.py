"""The documentation: strict MkDocs build, complete API reference, documented public names.

The build runs ``mkdocs build --strict`` (every warning is an error: broken links, missing nav
pages, docstrings griffe cannot parse) into a temporary folder. It is skipped, with the reason,
when MkDocs and its plugins are not installed (they are in the ``docs`` extra, which ``test``
includes).
"""

from __future__ import annotations

import importlib
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

import iopoutcomes as iop

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# user-guide pages written by other parts of the project (the build needs them)
PAGES_OWNED_ELSEWHERE = {"format.md": "records", "report.md": "report"}
# modules outside iopoutcomes._LAZY that still get an API page
EXTRA_API_MODULES = ("exceptions", "schema", "privacy", "plots", "report")
EXAMPLES = re.compile(r"^Examples\n-{3,}\s*$", re.MULTILINE)


def _require_mkdocs() -> None:
    for module in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python"):
        pytest.importorskip(module, reason=f"{module} is not installed (pip install '.[docs]')")


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    _require_mkdocs()
    absent = [
        f"docs/{p} ({who})" for p, who in PAGES_OWNED_ELSEWHERE.items() if not (DOCS / p).exists()
    ]
    if absent:
        pytest.skip(f"pages not written yet by their owners: {', '.join(absent)}")
    site = tmp_path / "site"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "-f",
            str(ROOT / "mkdocs.yml"),
            "-d",
            str(site),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    warnings = [line for line in result.stderr.splitlines() if "WARNING" in line]
    assert result.returncode == 0, "mkdocs build --strict failed:\n" + "\n".join(
        warnings or result.stderr.splitlines()[-20:]
    )
    # the API pages were rendered from the docstrings, not left empty
    page = (site / "api" / "baseline" / "index.html").read_text(encoding="utf-8")
    assert "iopoutcomes.baseline.table_one" in page and "Examples" in page
    for png in (DOCS / "gallery").glob("*.png"):
        assert (site / "gallery" / png.name).exists()


def _public_modules() -> set[str]:
    return set(iop._LAZY.values()) | set(EXTRA_API_MODULES)


def test_every_public_module_has_an_api_page_in_the_nav() -> None:
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for module in sorted(_public_modules()):
        page = DOCS / "api" / f"{module}.md"
        assert page.exists(), f"docs/api/{module}.md is missing"
        assert f"::: iopoutcomes.{module}" in page.read_text(encoding="utf-8")
        assert f"api/{module}.md" in nav, f"api/{module}.md is not in the mkdocs.yml nav"


def test_every_docs_page_is_in_the_nav() -> None:
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for page in DOCS.rglob("*.md"):
        rel = page.relative_to(DOCS).as_posix()
        assert rel in nav, f"docs/{rel} is not in the mkdocs.yml nav"


def test_every_gallery_figure_is_shown() -> None:
    gallery = (DOCS / "gallery" / "index.md").read_text(encoding="utf-8")
    for png in (DOCS / "gallery").glob("*.png"):
        assert f"]({png.name})" in gallery, f"docs/gallery/{png.name} is not shown in the gallery"


def _owner(name: str) -> str:
    return iop._LAZY.get(name, "exceptions")


def _public_names() -> list[str]:
    return sorted(n for n in iop.__all__ if n != "__version__")


@pytest.mark.parametrize("name", _public_names())
def test_public_name_has_a_docstring_with_examples(name: str) -> None:
    """Functions and classes: a numpydoc docstring with an Examples section. Constants: a
    docstring in the module that defines them (an attribute docstring, read by griffe)."""
    obj = getattr(iop, name)
    if inspect.isfunction(obj) or inspect.isclass(obj) or inspect.ismodule(obj):
        doc = inspect.getdoc(obj) or ""
        assert doc.strip(), f"iopoutcomes.{name} has no docstring"
        assert EXAMPLES.search(doc), f"iopoutcomes.{name}: the docstring has no Examples section"
        return
    griffe = pytest.importorskip("griffe", reason="griffe reads attribute docstrings")
    module = griffe.load(f"iopoutcomes.{_owner(name)}", search_paths=[str(ROOT / "src")])
    assert module[name].docstring is not None, f"iopoutcomes.{name} has no attribute docstring"


def test_public_functions_are_not_shadowed_by_submodules() -> None:
    # a submodule named like a public function would replace it on the package once imported
    for name in ("table_one", "power", "sample_size", "cost_effectiveness"):
        assert not (ROOT / "src" / "iopoutcomes" / f"{name}.py").exists(), name
    importlib.import_module("iopoutcomes.baseline")
    importlib.import_module("iopoutcomes.planning")
    importlib.import_module("iopoutcomes.cea")
    assert callable(iop.table_one) and callable(iop.power) and callable(iop.sample_size)
    assert callable(iop.cost_effectiveness)


def test_definitions_page_lists_every_builtin_definition() -> None:
    from iopoutcomes import patterns
    from iopoutcomes.definitions import DEFAULT_MILESTONES, MISSING_RULES

    text = (DOCS / "definitions.md").read_text(encoding="utf-8")
    for builtin in patterns._BUILTINS:
        assert f"`{builtin[0]}`" in text, f"pattern {builtin[0]} is not documented"
    for milestone in DEFAULT_MILESTONES:
        assert f"`{milestone.name}`" in text, f"milestone {milestone.name} is not documented"
    missing = (DOCS / "missing-data.md").read_text(encoding="utf-8")
    for rule in MISSING_RULES:
        assert f"`{rule}`" in missing, f"missing-data rule {rule} is not documented"


def test_cli_page_documents_every_command() -> None:
    from iopoutcomes.cli import cli

    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    for command in cli.commands:
        assert f"\n## {command}\n" in text, f"iopoutcomes {command} is not in docs/cli.md"
