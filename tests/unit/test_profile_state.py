"""What Settings says under the AWS profile: a profile this computer does not have is missing, with the one meant."""

from __future__ import annotations

from pathlib import Path

from agent.desktop.windows.profile_state import profile_state


def test_a_missing_profile_names_the_one_meant_and_a_case_mistake_says_so(private_home: Path) -> None:
    (private_home / "aws-credentials").write_text("[Studio]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
                                                  "aws_secret_access_key = x\n", encoding="utf-8")
    found = profile_state("Studio")
    assert not found.missing and found.text.startswith("Access key") and found.suggestion is None
    case = profile_state("studio")
    assert case.missing and case.suggestion == "Studio" and "Did you mean 'Studio'? Profile names are case-sensitive." in case.text
    typo = profile_state("Stuido")
    assert typo.missing and typo.suggestion == "Studio" and "Did you mean 'Studio'?" in typo.text and "case" not in typo.text
    far = profile_state("render-farm")
    assert far.missing and far.suggestion is None and "Did you mean" not in far.text
    assert not profile_state(None).missing  # the standard AWS chain: nothing to miss
