"""The README's install routes work when followed to the letter on a fresh machine."""

from __future__ import annotations

from tests.helpers import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_pipx_route_says_how_to_get_pipx_before_using_it() -> None:
    install = README.split("## Install", 1)[1].split("\n## ", 1)[0]
    first_use = install.index("pipx install")
    assert "sudo apt install pipx" in install[:first_use], "Debian and Ubuntu have no pipx until it is installed"
    assert "pipx ensurepath" in install[:first_use]
