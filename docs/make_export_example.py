"""Write the messy example exports of the walkthrough "From your EHR export to the report".

Run from the repository root::

    python docs/make_export_example.py                    # writes example-export/
    python docs/make_export_example.py --out DIR          # somewhere else

The files are made from the shipped simulated sample (``iopoutcomes.load_sample()``: no real
person appears anywhere) by ``iopoutcomes._example_exports.write_example_exports``:

* ``admissions.xlsx``: sheet "Admissions" with two title rows and a blank row above the header
  (row 4), US dates (admission as text, discharge as Excel date cells), EHR wordings ("Left
  AMA", "Residential 3.5"), episodes numbered 1, 2, ... within each client, a blank line inside
  the data and a "Total records" footer;
* ``gpra_interviews.csv``: intake, discharge and 6-month GPRA interviews with "Interview Type",
  "Interview Status" and -7/-8/-9 for items not answered;
* ``lab_screens.csv``: urine screens (a title line, "Negative"/"Positive", a footer);
* ``program.toml``: the configuration the walkthrough ends with;
* ``planted.csv``: the rows with planted problems (file, row as the spreadsheet shows it,
  expected reason), to compare with ``iopoutcomes check``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import iopoutcomes as iop
from iopoutcomes._example_exports import EXAMPLE_CONFIG, write_example_exports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("example-export"))
    out = parser.parse_args().out
    info = write_example_exports(iop.load_sample(), out)
    (out / "program.toml").write_text(EXAMPLE_CONFIG, encoding="utf-8")
    info["planted"].to_csv(out / "planted.csv", index=False, lineterminator="\n")
    for path in sorted(out.iterdir()):
        print(path)


if __name__ == "__main__":
    main()
