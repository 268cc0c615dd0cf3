"""Generate sample_data/events.csv: a realistic, seeded history for a three-member team.

    python sample_data/generate.py > sample_data/events.csv

Workspace: builder plan, bought 2026-09-14T09:00:00Z (cycles reset on the 14th at 09:00 UTC);
history from then to 2026-11-20, a little over two cycles. Apps: crm, newsletter,
support-bot, landing. Members: ana (builds most), bob (the newsletter), cy (the support bot).
"""

import csv
import random
import sys
from datetime import datetime, timedelta, timezone

START = datetime(2026, 9, 14, 9, 0, tzinfo=timezone.utc)
END = datetime(2026, 11, 20, 17, 0, tzinfo=timezone.utc)
SPEECH_CAP = 100
MODELS = {"automatic": 3, "gemini-3-flash": 5, "gpt-5": 15}
SCOPES = {"simple": "0.5", "feature": "1", "module": "2", "app-wide": "3.5", "discuss": "0.3"}
NOTES = ["add a login page", "fix the pricing table", "=2+2 showed up in the sheet", "dark mode", "faster search",
         "rename the onboarding steps", "export to PDF", "-- ask about webhooks"]


def main(out=sys.stdout):
    rng = random.Random(44)
    rows = []

    def add(at, action, credits, quantity=1, model="", scope="", seconds="", chars="", custom_domain=False,
            app="", member="", note=""):
        pool = "message" if action == "message" else "integration"
        rows.append({"at": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "pool": pool, "action": action, "model": model,
                     "scope": scope, "quantity": quantity, "seconds": seconds, "chars": chars,
                     "custom_domain": "true" if custom_domain else "false", "credits": credits, "app": app,
                     "member": member, "key": "", "note": note})

    day = START
    while day < END:
        weekday = day.weekday() < 5
        # builders prompt on working days: 1-4 prompts each, mostly ana
        for member, weight in (("ana", 4), ("bob", 1), ("cy", 1)):
            for _ in range(rng.randint(0, weight if weekday else 1)):
                at = day + timedelta(hours=rng.randint(0, 7), minutes=rng.randint(0, 59))
                if at >= END:
                    continue
                app = rng.choice(["crm", "newsletter", "support-bot", "landing"])
                if rng.random() < 0.3:
                    add(at, "message", rng.choice(["0.7", "1.3", "2.4", "0.9"]), app=app, member=member,
                        note=rng.choice(NOTES))
                else:
                    scope = rng.choices(list(SCOPES), weights=[4, 4, 2, 1, 3])[0]
                    add(at, "message", SCOPES[scope], scope=scope, app=app, member=member)
        # the running apps, every day
        for hour in range(0, 24, 3):
            at = day + timedelta(hours=hour, minutes=rng.randint(0, 59))
            if at >= END:
                continue
            n = rng.randint(1, 6)
            model = rng.choices(list(MODELS), weights=[6, 3, 1])[0]
            add(at, "invokeLLM", MODELS[model] * n, quantity=n, model=model, app="crm", member="ana")
            if rng.random() < 0.5:
                model = rng.choices(list(MODELS), weights=[5, 3, 2])[0]
                add(at, "agent", MODELS[model], model=model, app="support-bot", member="cy")
            if rng.random() < 0.3:
                add(at, "automation", 1, app="crm")
        if weekday:
            n = rng.randint(5, 40)
            custom = rng.random() < 0.5
            add(day + timedelta(hours=6), "SendEmail", (2 if custom else 1) * n, quantity=n, custom_domain=custom,
                app="newsletter", member="bob")
            add(day + timedelta(hours=7), "UploadFile", 2, quantity=2, app="crm", member="ana")
            add(day + timedelta(hours=7, minutes=5), "ExtractDataFromUploadedFile", 2, quantity=2, app="crm",
                member="ana")
        if rng.random() < 0.4:
            n = rng.randint(1, 4)
            add(day + timedelta(hours=5), "GenerateImage", n, quantity=n, app="landing", member="ana")
        if rng.random() < 0.15:
            s = rng.randint(4, 12)
            add(day + timedelta(hours=4), "GenerateVideo", 5 * s, seconds=s, app="landing", member="ana")
        if rng.random() < 0.3:
            chars = rng.randint(80, 900)
            add(day + timedelta(hours=8), "GenerateSpeech", min(-(-chars // 50), SPEECH_CAP), chars=chars,
                app="support-bot", member="cy")
        day += timedelta(days=1)

    rows.sort(key=lambda r: r["at"])
    w = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
    w.writeheader()
    for r in rows:
        r = {k: ("'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "'") else v) for k, v in r.items()}
        w.writerow(r)


if __name__ == "__main__":
    main()
