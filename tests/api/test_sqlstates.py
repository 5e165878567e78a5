"""Custom SQLSTATEs: each code the migrations raise is listed once in
include/rollcall/sqlstate.h, and one meaning has one code (issue 11: RC001
used to mean both "already checked in" and "leave balance exceeded").
Reads the files; the daemon-level behaviour (409 invalid_sequence, 422
leave_balance_exceeded) is in test_attendance.py and test_leave.py."""
import os
import re

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SQL = os.path.join(ROOT, "sql")
HEADER = os.path.join(ROOT, "include", "rollcall", "sqlstate.h")

FUNC = re.compile(r"CREATE (?:OR REPLACE )?FUNCTION\s+(\w+)\s*\((.*?)\$\$"
                  r"(.*?)\$\$", re.S)
RAISE = re.compile(r"ERRCODE\s*=\s*'(RC\d{3})'")


def latest_functions():
    """Each function's body as the last migration defining it leaves it."""
    funcs = {}
    for name in sorted(os.listdir(SQL)):
        if name.endswith(".sql"):
            with open(os.path.join(SQL, name)) as f:
                for m in FUNC.finditer(f.read()):
                    funcs[m.group(1)] = m.group(3)
    return funcs


def header_codes():
    with open(HEADER) as f:
        return dict(re.findall(r'#define (RC_SQLSTATE_\w+)\s+"(\w{5})"',
                               f.read()))


def test_header_codes_are_distinct():
    codes = header_codes()
    assert len(codes) >= 8
    assert len(set(codes.values())) == len(codes)


def test_every_raised_code_is_in_the_header():
    listed = set(header_codes().values())
    raised = {c for body in latest_functions().values()
              for c in RAISE.findall(body)}
    assert raised, "no custom SQLSTATE found: the parser is wrong"
    assert raised <= listed
    assert {c for c in listed if c.startswith("RC")} <= raised


def test_leave_balance_has_its_own_code():
    funcs = latest_functions()
    codes = header_codes()
    assert RAISE.findall(funcs["leave_requests_check_balance"]) == \
        [codes["RC_SQLSTATE_LEAVE_BALANCE"]]
    attendance = set(RAISE.findall(funcs["attendance_check_sequence"]))
    assert codes["RC_SQLSTATE_LEAVE_BALANCE"] not in attendance
    assert codes["RC_SQLSTATE_ALREADY_CHECKED_IN"] in attendance


def test_c_uses_the_header_names():
    """No SQLSTATE literal outside the header: a code is named once."""
    literal = re.compile(r'"(?:RC\d{3}|2[23][0-9A-Z]{3})"')
    found = []
    for top in ("src", "include"):
        for d, _, files in os.walk(os.path.join(ROOT, top)):
            for n in files:
                p = os.path.join(d, n)
                if p == HEADER or not n.endswith((".c", ".h", ".cpp")):
                    continue
                with open(p) as f:
                    for i, line in enumerate(f, 1):
                        if literal.search(line):
                            found.append("%s:%d" % (p, i))
    assert found == []
