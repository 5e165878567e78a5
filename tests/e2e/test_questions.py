"""Question sets in the browser (issue 12, section 2): an admin builds and
publishes a set, an intern answers it and sees the score, the admin grades
the text answer."""
from conftest import PW, add_user


def test_admin_builds_intern_answers_and_sees_score_admin_grades(office, browser):
    d = office
    add_user(d, "ian@acme.test", "intern", "acme", "Ian Intern")
    out = browser(d, "questions.mjs", admin="admin@acme.test", intern="ian@acme.test",
                  password=PW, title="Safety basics")
    assert "right" in out["noRight"], out["noRight"]
    # Single right (2 of 2), multiple half right (0 of 3), text pending (of 5).
    assert out["scoreText"] == "You scored 2 of 10 points.", out
    assert out["best"] == "your best score: 2 / 10", out
    assert (out["before"], out["after"]) == ("2 / 10", "6 / 10"), out
    assert d.psql("SELECT string_agg(kind || ':' || points, ',' ORDER BY position) "
                  "FROM questions") == "single:2,multiple:3,text:5"
    assert d.psql("SELECT score || '/' || max_score || ' ' || pending_review "
                  "FROM question_submissions") == "6/10 false"
