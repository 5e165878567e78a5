"""Question collection (issue 12, section 2): sets built by admins, the
answer key shown to admins only, published sets for everyone else,
submissions scored as they arrive (single, multiple, text pending a grade),
max_attempts (also under concurrent submissions), grading, results as JSON
and CSV, the tenant rule, and bad input that changes nothing. Real daemon
and PostgreSQL."""
import concurrent.futures
import csv
import io
import uuid

import pytest

from test_users import PW, add_user, count, make_org, token

BASE = "/api/v1/question-sets"


@pytest.fixture
def world(make_daemon):
    """acme: admin, intern, employee; globex: admin, intern; a superadmin."""
    d = make_daemon()
    make_org(d, "acme")
    make_org(d, "globex")
    d.ids = {}
    for email, role, org in [("admin@acme.test", "admin", "acme"),
                             ("intern@acme.test", "intern", "acme"),
                             ("emp@acme.test", "employee", "acme"),
                             ("admin@globex.test", "admin", "globex"),
                             ("intern@globex.test", "intern", "globex"),
                             ("root@rollcall.test", "superadmin", None)]:
        d.ids[email] = add_user(d, email, role, org)
    d.h = {e: token(d, e) for e in d.ids}
    d.admin = d.h["admin@acme.test"]
    d.intern = d.h["intern@acme.test"]
    return d


def new_set(d, who=None, **body):
    body.setdefault("title", "Safety basics")
    r = d.post(BASE, headers=who or d.admin, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def add_q(d, set_id, who=None, **body):
    r = d.post(BASE + "/%s/questions" % set_id, headers=who or d.admin,
               json=body)
    assert r.status_code == 201, r.text
    return r.json()


def quiz(d, **set_body):
    """A published set: single (2 pts, right: 'Red'), multiple (3 pts,
    right: 'Gloves' and 'Goggles'), text (5 pts)."""
    s = new_set(d, **set_body)
    single = add_q(d, s["id"], kind="single", prompt="Stop light colour?",
                   choices=["Green", "Red", "Blue"], answer=[1], points=2)
    multi = add_q(d, s["id"], kind="multiple", prompt="Protective gear?",
                  choices=["Gloves", "Sandals", "Goggles"], answer=[0, 2],
                  points=3)
    text = add_q(d, s["id"], kind="text", prompt="Why does it matter?",
                 points=5)
    r = d.patch(BASE + "/" + s["id"], headers=d.admin, json={"published": True})
    assert r.status_code == 200 and r.json()["published"] is True, r.text
    return s["id"], single, multi, text


def cid(q, text):
    return next(c["id"] for c in q["choices"] if c["text"] == text)


def submit(d, set_id, answers, who=None):
    return d.post(BASE + "/%s/submissions" % set_id,
                  headers=d.intern if who is None else who,
                  json={"answers": answers})


def test_admin_builds_a_set_and_only_admins_see_the_key(world):
    d = world
    s = new_set(d, description="Read before your first day", max_attempts=2)
    assert (s["published"], s["max_attempts"], s["question_count"],
            s["max_score"]) == (False, 2, 0, 0)
    q = add_q(d, s["id"], kind="multiple", prompt="Pick the primes",
              choices=["2", "4", "5"], answer=[0, 2], points=4)
    assert [c["text"] for c in q["choices"]] == ["2", "4", "5"]
    assert all(uuid.UUID(c["id"]) for c in q["choices"])
    assert q["answer"] == [0, 2] and q["points"] == 4
    t = add_q(d, s["id"], kind="text", prompt="Explain", points=1)
    assert t["choices"] == [] and t["answer"] == []

    # Unpublished: the intern neither sees nor finds it.
    assert d.get(BASE + "/" + s["id"], headers=d.intern).status_code == 404
    assert d.get(BASE, headers=d.intern).json()["items"] == []
    got = d.get(BASE + "/" + s["id"], headers=d.admin).json()
    assert [x["answer"] for x in got["questions"]] == [[0, 2], []]
    assert got["question_count"] == 2 and got["max_score"] == 5

    r = d.patch(BASE + "/" + s["id"], headers=d.admin,
                json={"published": True, "title": "Primes"})
    assert r.status_code == 200 and r.json()["title"] == "Primes"
    seen = d.get(BASE + "/" + s["id"], headers=d.intern)
    assert seen.status_code == 200, seen.text
    assert "answer" not in seen.text and "correct" not in seen.text
    assert [c["text"] for c in seen.json()["questions"][0]["choices"]] == \
        ["2", "4", "5"]
    assert seen.json()["my_attempts"] == 0
    assert [x["id"] for x in d.get(BASE, headers=d.intern).json()["items"]] \
        == [s["id"]]
    # Another org's people and admin: it does not exist.
    for who in ("admin@globex.test", "intern@globex.test"):
        assert d.get(BASE + "/" + s["id"], headers=d.h[who]).status_code == 404
        assert d.get(BASE, headers=d.h[who]).json()["items"] == []
    # A superadmin has no org, no question sets; others do not build them.
    assert d.get(BASE, headers=d.h["root@rollcall.test"]).status_code == 403
    assert d.post(BASE, headers=d.intern, json={"title": "x"}).status_code == 403
    assert d.post(BASE + "/%s/questions" % s["id"], headers=d.intern,
                  json={"kind": "text", "prompt": "x", "points": 1}
                  ).status_code == 403
    assert count(d, "audit_log", "action = 'question_set_created'") == 1
    assert count(d, "audit_log", "action = 'question_created'") == 2
    assert count(d, "audit_log", "action = 'question_set_updated'") == 1


def test_scoring_single_multiple_text_then_grading(world):
    d = world
    sid, single, multi, text = quiz(d)
    r = submit(d, sid, [
        {"question_id": single["id"], "choice_ids": [cid(single, "Red")]},
        {"question_id": multi["id"], "choice_ids": [cid(multi, "Gloves")]},
        {"question_id": text["id"], "text": "So nobody gets hurt."}])
    assert r.status_code == 201, r.text
    sub = r.json()
    # single right (2), multiple only half right (0), text pending.
    assert (sub["score"], sub["max_score"], sub["pending_review"],
            sub["attempt"]) == (2, 10, True, 1)
    pts = {a["question_id"]: a["points"] for a in sub["answers"]}
    assert pts == {single["id"]: 2, multi["id"]: 0, text["id"]: None}

    # max_attempts is 1.
    r = submit(d, sid, [{"question_id": single["id"],
                         "choice_ids": [cid(single, "Red")]}])
    assert r.status_code == 409 and r.json()["code"] == "max_attempts"
    assert count(d, "question_submissions") == 1

    # The intern sees their own submission; the employee none of it.
    mine = d.get(BASE + "/%s/submissions" % sid, headers=d.intern).json()
    assert [x["id"] for x in mine["items"]] == [sub["id"]]
    other = d.get(BASE + "/%s/submissions" % sid, headers=d.h["emp@acme.test"])
    assert other.status_code == 200 and other.json()["items"] == []
    assert d.get(BASE + "/" + sid, headers=d.intern).json()["my_attempts"] == 1

    # Grading: the text answer gets 4 of 5; the score is recomputed.
    url = BASE + "/%s/submissions/%s" % (sid, sub["id"])
    assert d.patch(url, headers=d.intern, json={"grades": [
        {"question_id": text["id"], "points": 5}]}).status_code == 403
    for bad, field in [
            ({"grades": [{"question_id": text["id"], "points": 6}]},
             "grades[0].points"),
            ({"grades": [{"question_id": str(uuid.uuid4()), "points": 1}]},
             "grades[0].question_id"),
            ({"grades": [{"question_id": text["id"], "points": 1},
                         {"question_id": text["id"], "points": 2}]},
             "grades[1].question_id"),
            ({"grades": [{"question_id": text["id"], "points": -1}]},
             "grades[0].points"),
            ({"grades": [{"question_id": text["id"], "points": "4"}]},
             "grades[0].points"),
            ({"grades": []}, "grades"), ({"grades": "all"}, "grades"),
            ({}, "grades")]:
        r = d.patch(url, headers=d.admin, json=bad)
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["errors"][0]["field"] == field, (bad, r.text)
    assert d.psql("SELECT score || ',' || pending_review FROM "
                  "question_submissions") == "2,true"
    assert count(d, "question_grades") == 0
    r = d.patch(url, headers=d.admin, json={"grades": [
        {"question_id": text["id"], "points": 4}]})
    assert r.status_code == 200, r.text
    assert (r.json()["score"], r.json()["pending_review"]) == (6, False)
    # A grade also overrides an automatic score (the multiple question).
    r = d.patch(url, headers=d.admin, json={"grades": [
        {"question_id": multi["id"], "points": 1},
        {"question_id": text["id"], "points": 5}]})
    assert r.json()["score"] == 8
    graded = {a["question_id"]: (a["points"], a["graded"])
              for a in r.json()["answers"]}
    assert graded[multi["id"]] == (1, True) and graded[single["id"]] == (2, False)
    mine = d.get(BASE + "/%s/submissions" % sid, headers=d.intern).json()
    assert mine["items"][0]["score"] == 8
    assert count(d, "audit_log", "action = 'question_submission_graded'") == 2
    # Another org's admin cannot grade it.
    assert d.patch(url, headers=d.h["admin@globex.test"], json={"grades": [
        {"question_id": text["id"], "points": 0}]}).status_code == 404


def test_multiple_needs_exactly_the_right_set_single_the_one(world):
    d = world
    sid, single, multi, text = quiz(d, max_attempts=5)
    cases = [
        ([cid(multi, "Gloves"), cid(multi, "Goggles")], [cid(single, "Red")], 5),
        ([cid(multi, "Goggles"), cid(multi, "Gloves")], [cid(single, "Blue")], 3),
        ([cid(multi, "Gloves"), cid(multi, "Goggles"), cid(multi, "Sandals")],
         [], 0),
        ([], [cid(single, "Red")], 2),
    ]
    for m, s, want in cases:
        r = submit(d, sid, [{"question_id": multi["id"], "choice_ids": m},
                            {"question_id": single["id"], "choice_ids": s}])
        assert r.status_code == 201, r.text
        assert r.json()["score"] == want, (m, s, r.json())
        # The text question was not answered: nothing to review.
        assert r.json()["pending_review"] is False
    assert [x["attempt"] for x in d.get(
        BASE + "/%s/submissions" % sid, headers=d.intern).json()["items"]] \
        == [1, 2, 3, 4]


def test_bad_submissions_are_refused_and_change_nothing(world):
    d = world
    sid, single, multi, text = quiz(d)
    other_sid, o_single, _, _ = quiz(d, title="Other")
    red = cid(single, "Red")
    cases = [
        ([{"question_id": str(uuid.uuid4()), "choice_ids": []}],
         "answers[0].question_id"),
        ([{"question_id": o_single["id"], "choice_ids": []}],
         "answers[0].question_id"),
        ([{"question_id": single["id"], "choice_ids": [cid(multi, "Gloves")]}],
         "answers[0].choice_ids"),
        ([{"question_id": single["id"], "choice_ids": [str(uuid.uuid4())]}],
         "answers[0].choice_ids"),
        ([{"question_id": single["id"], "choice_ids": [red]},
          {"question_id": single["id"].upper(), "choice_ids": [red]}],
         "answers[1].question_id"),
        ([{"question_id": text["id"], "choice_ids": [red]}],
         "answers[0].choice_ids"),
        ([{"question_id": single["id"], "text": "red"}], "answers[0].text"),
        ([{"question_id": single["id"],
           "choice_ids": [red, cid(single, "Blue")]}], "answers[0].choice_ids"),
        ([{"question_id": multi["id"], "choice_ids": [cid(multi, "Gloves")] * 2}],
         "answers[0].choice_ids[1]"),
        ([{"question_id": 7}], "answers[0].question_id"),
        ([{"question_id": "not-an-id"}], "answers[0].question_id"),
        ([{"choice_ids": [red]}], "answers[0].question_id"),
        ([{"question_id": single["id"], "choice_ids": red}],
         "answers[0].choice_ids"),
        ([{"question_id": single["id"], "choice_ids": [5]}],
         "answers[0].choice_ids[0]"),
        ([{"question_id": text["id"], "text": 12}], "answers[0].text"),
        (["red"], "answers[0]"),
        ("all of them", "answers"),
        (None, "answers"),
    ]
    for answers, field in cases:
        r = submit(d, sid, answers)
        assert r.status_code == 422, (answers, r.text)
        assert r.json()["errors"][0]["field"] == field, (answers, r.text)
    d.patch(BASE + "/" + other_sid, headers=d.admin, json={"published": False})
    audit = count(d, "audit_log")
    h = dict(d.intern, **{"Content-Type": "application/json"})
    for raw in (b'{"answers": [', b'{"answers": "\xff"}', b'[1, 2]', b''):
        r = d.post(BASE + "/%s/submissions" % sid, headers=h, data=raw)
        assert r.status_code in (400, 422), (raw, r.text)
        if raw:
            assert r.json()["code"] in ("malformed_json", "validation_failed")
    # Another org's set, a set that does not exist, a path that is no id.
    ok = [{"question_id": single["id"], "choice_ids": [red]}]
    assert submit(d, sid, ok, who=d.h["intern@globex.test"]).status_code == 404
    assert submit(d, str(uuid.uuid4()), ok).status_code == 404
    assert submit(d, "nope", ok).status_code == 404
    # An unpublished set: 404 to the intern, 409 to an admin who sees it.
    ok2 = [{"question_id": o_single["id"], "choice_ids": [cid(o_single, "Red")]}]
    assert submit(d, other_sid, ok2).status_code == 404
    r = submit(d, other_sid, ok2, who=d.admin)
    assert r.status_code == 409 and r.json()["code"] == "not_published"
    assert count(d, "question_submissions") == 0
    assert count(d, "question_answers") == 0
    assert count(d, "audit_log") == audit
    # ...and the very same intern can still submit properly.
    assert submit(d, sid, ok).status_code == 201


def test_bad_questions_and_sets_are_refused_and_change_nothing(world):
    d = world
    s = new_set(d)
    url = BASE + "/%s/questions" % s["id"]
    good = {"kind": "single", "prompt": "P", "choices": ["a", "b"],
            "answer": [0], "points": 1}
    cases = [
        ({"kind": "essay"}, "kind"), ({"kind": None}, "kind"),
        ({"prompt": ""}, "prompt"), ({"prompt": 5}, "prompt"),
        ({"points": -1}, "points"), ({"points": 1001}, "points"),
        ({"points": "1"}, "points"), ({"points": 1.5}, "points"),
        ({"choices": ["only"]}, "choices"), ({"choices": "a,b"}, "choices"),
        ({"choices": ["a", "a"]}, "choices[1]"),
        ({"choices": ["a", ""]}, "choices[1]"),
        ({"choices": ["a", "b\nc"]}, "choices[1]"),
        ({"choices": ["a", 2]}, "choices[1]"),
        ({"answer": [2]}, "answer[0]"), ({"answer": [-1]}, "answer[0]"),
        ({"answer": [0, 1]}, "answer"), ({"answer": []}, "answer"),
        ({"answer": None}, "answer"), ({"answer": ["0"]}, "answer[0]"),
        ({"kind": "multiple", "answer": [1, 1]}, "answer[1]"),
        ({"kind": "text", "choices": ["a", "b"], "answer": []}, "choices"),
        ({"kind": "text", "choices": [], "answer": [0]}, "answer"),
    ]
    for change, field in cases:
        body = dict(good, **change)
        r = d.post(url, headers=d.admin, json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["errors"][0]["field"] == field, (body, r.text)
    for missing in ("kind", "prompt", "points"):
        body = {k: v for k, v in good.items() if k != missing}
        r = d.post(url, headers=d.admin, json=body)
        assert r.json()["errors"][0]["field"] == missing, r.text
    for bad, field in [({"title": ""}, "title"), ({}, "title"),
                       ({"title": "x", "max_attempts": 0}, "max_attempts"),
                       ({"title": "x", "max_attempts": 101}, "max_attempts"),
                       ({"title": "x", "max_attempts": "2"}, "max_attempts"),
                       ({"title": "x", "published": "yes"}, "published"),
                       ({"title": "x", "description": ["d"]}, "description")]:
        r = d.post(BASE, headers=d.admin, json=bad)
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["errors"][0]["field"] == field
        r = d.patch(BASE + "/" + s["id"], headers=d.admin, json=bad)
        if bad:
            assert r.status_code == 422, (bad, r.text)
    r = d.patch(BASE + "/" + s["id"], headers=d.admin, json={"title": None})
    assert r.status_code == 422
    h = dict(d.admin, **{"Content-Type": "application/json"})
    assert d.post(url, headers=h, data=b'{"prompt": "\xc3\x28"}').status_code == 400
    assert d.post(url, headers=h, data=b'{"kind": ').status_code == 400
    assert d.post(BASE, headers=h, data=b'{"title": "a\\u0000b"}').status_code == 400
    # Another org's set, and a set that does not exist.
    assert d.post(url, headers=d.h["admin@globex.test"], json=good).status_code == 404
    assert d.post(BASE + "/%s/questions" % uuid.uuid4(), headers=d.admin,
                  json=good).status_code == 404
    assert d.patch(BASE + "/" + s["id"], headers=d.h["admin@globex.test"],
                   json={"title": "mine"}).status_code == 404
    assert count(d, "questions") == 0 and count(d, "question_choices") == 0
    assert d.psql("SELECT title FROM question_sets") == "Safety basics"


def test_change_and_delete_questions_until_the_first_submission(world):
    d = world
    sid, single, multi, text = quiz(d, max_attempts=3)
    qurl = BASE + "/%s/questions/" % sid
    # Prompt and points alone; kind, choices and answer together.
    r = d.patch(qurl + single["id"], headers=d.admin, json={"points": 4})
    assert r.status_code == 200 and r.json()["points"] == 4, r.text
    assert [c["id"] for c in r.json()["choices"]] == \
        [c["id"] for c in single["choices"]]
    r = d.patch(qurl + single["id"], headers=d.admin, json={"answer": [0]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "kind"
    r = d.patch(qurl + single["id"], headers=d.admin, json={
        "kind": "multiple", "choices": ["Yes", "No", "Maybe"], "answer": [0, 2]})
    assert r.status_code == 200, r.text
    changed = r.json()
    assert changed["kind"] == "multiple" and changed["answer"] == [0, 2]
    assert [c["text"] for c in changed["choices"]] == ["Yes", "No", "Maybe"]
    assert count(d, "question_choices", "question_id = '%s'" % single["id"]) == 3
    assert d.patch(qurl + single["id"], headers=d.h["admin@globex.test"],
                   json={"points": 1}).status_code == 404
    assert d.patch(qurl + str(uuid.uuid4()), headers=d.admin,
                   json={"points": 1}).status_code == 404
    assert d.delete(qurl + text["id"], headers=d.admin).status_code == 204
    assert d.delete(qurl + text["id"], headers=d.admin).status_code == 404
    got = d.get(BASE + "/" + sid, headers=d.admin).json()
    assert [q["id"] for q in got["questions"]] == [single["id"], multi["id"]]
    assert got["max_score"] == 7

    r = submit(d, sid, [{"question_id": single["id"], "choice_ids": [
        cid(changed, "Yes"), cid(changed, "Maybe")]}])
    assert r.status_code == 201 and r.json()["score"] == 4, r.text
    # Now the questions are frozen: scores would stop meaning anything.
    for r in [d.post(BASE + "/%s/questions" % sid, headers=d.admin,
                     json={"kind": "text", "prompt": "More?", "points": 1}),
              d.patch(qurl + multi["id"], headers=d.admin, json={"points": 9}),
              d.delete(qurl + multi["id"], headers=d.admin)]:
        assert r.status_code == 409 and r.json()["code"] == "has_submissions"
    assert count(d, "questions") == 2
    # The set itself still changes (title, attempts, unpublishing).
    r = d.patch(BASE + "/" + sid, headers=d.admin, json={"max_attempts": 1})
    assert r.status_code == 200 and r.json()["max_attempts"] == 1
    assert submit(d, sid, []).status_code == 409


def test_concurrent_submissions_cannot_pass_max_attempts(world):
    d = world
    sid, single, _, _ = quiz(d, max_attempts=2)
    ans = [{"question_id": single["id"], "choice_ids": [cid(single, "Red")]}]
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        codes = list(ex.map(lambda _: submit(d, sid, ans).status_code, range(8)))
    assert sorted(codes) == [201, 201] + [409] * 6, codes
    assert d.psql("SELECT string_agg(attempt::text, ',' ORDER BY attempt) "
                  "FROM question_submissions") == "1,2"


def test_results_json_and_csv_one_row_per_person(world):
    d = world
    sid, single, multi, _ = quiz(d, max_attempts=3)
    red, blue = cid(single, "Red"), cid(single, "Blue")
    submit(d, sid, [{"question_id": single["id"], "choice_ids": [blue]}])
    submit(d, sid, [{"question_id": single["id"], "choice_ids": [red]}])
    submit(d, sid, [{"question_id": single["id"], "choice_ids": [blue]}],
           who=d.h["emp@acme.test"])
    r = d.get(BASE + "/%s/results" % sid, headers=d.admin)
    assert r.status_code == 200, r.text
    res = r.json()
    assert res["set"]["max_score"] == 10
    rows = {x["email"]: x for x in res["rows"]}
    assert set(rows) == {"intern@acme.test", "emp@acme.test"}
    assert (rows["intern@acme.test"]["attempts"],
            rows["intern@acme.test"]["best_score"]) == (2, 2)
    assert (rows["emp@acme.test"]["attempts"],
            rows["emp@acme.test"]["best_score"]) == (1, 0)
    assert rows["emp@acme.test"]["last_submitted_at"].endswith("Z")

    r = d.get(BASE + "/%s/results?format=csv" % sid, headers=d.admin)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in r.headers["Content-Disposition"]
    assert "Safety_basics" in r.headers["Content-Disposition"]
    assert r.text.startswith("name,email,role,attempts,best_score,")
    table = list(csv.DictReader(io.StringIO(r.text)))
    assert {(x["email"], x["attempts"], x["best_score"]) for x in table} == {
        ("intern@acme.test", "2", "2"), ("emp@acme.test", "1", "0")}
    assert d.get(BASE + "/%s/results?format=xml" % sid,
                 headers=d.admin).status_code == 422
    assert d.get(BASE + "/%s/results" % sid, headers=d.intern).status_code == 403
    assert d.get(BASE + "/%s/results" % sid,
                 headers=d.h["admin@globex.test"]).status_code == 404
    # The admin filters the submissions by person.
    r = d.get(BASE + "/%s/submissions?user_id=%s" % (
        sid, d.ids["emp@acme.test"]), headers=d.admin)
    assert [x["user_email"] for x in r.json()["items"]] == ["emp@acme.test"]
    r = d.get(BASE + "/%s/submissions?limit=2" % sid, headers=d.admin).json()
    assert len(r["items"]) == 2 and r["next_cursor"]
    r2 = d.get(BASE + "/%s/submissions?limit=2&cursor=%s" % (
        sid, r["next_cursor"]), headers=d.admin).json()
    assert len(r2["items"]) == 1 and r2["next_cursor"] is None


def test_delete_set_takes_its_questions_and_submissions(world):
    d = world
    sid, single, _, _ = quiz(d)
    submit(d, sid, [{"question_id": single["id"],
                     "choice_ids": [cid(single, "Red")]}])
    assert d.delete(BASE + "/" + sid, headers=d.intern).status_code == 403
    assert d.delete(BASE + "/" + sid,
                    headers=d.h["admin@globex.test"]).status_code == 404
    assert count(d, "question_sets") == 1
    assert d.delete(BASE + "/" + sid, headers=d.admin).status_code == 204
    assert d.get(BASE + "/" + sid, headers=d.admin).status_code == 404
    for table in ("question_sets", "questions", "question_choices",
                  "question_submissions", "question_answers"):
        assert count(d, table) == 0, table
    assert d.psql("SELECT detail->>'submissions' FROM audit_log WHERE "
                  "action = 'question_set_deleted'") == "1"


def test_limits_and_tokens(world):
    d = world
    sid, single, _, _ = quiz(d)
    red = cid(single, "Red")
    # More answers than any set may have, more choices than a question may.
    many = [{"question_id": str(uuid.uuid4())} for _ in range(501)]
    r = submit(d, sid, many)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "answers"
    r = d.post(BASE + "/%s/questions" % sid, headers=d.admin, json={
        "kind": "multiple", "prompt": "Too many", "points": 1,
        "choices": ["c%d" % i for i in range(51)], "answer": [0]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "choices"
    # A body over the server's limit (1 MiB) is 413; nothing is stored.
    r = submit(d, sid, [{"question_id": single["id"], "choice_ids": [red],
                         "text": "x" * (2 << 20)}])
    assert r.status_code == 413, r.status_code
    # No token, a forged one: 401 on every kind of route.
    forged = {"Authorization": "Bearer " + d.intern["Authorization"].split()[1][:-4] + "AAAA"}
    for h in ({}, forged):
        assert d.get(BASE, headers=h).status_code == 401
        assert submit(d, sid, [{"question_id": single["id"],
                                "choice_ids": [red]}], who=h).status_code == 401
        assert d.get(BASE + "/%s/results" % sid, headers=h).status_code == 401
    assert count(d, "question_submissions") == 0
    assert count(d, "questions") == 3
