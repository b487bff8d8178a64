"""Layer: use cases (applications, death intake, registry, meetings, reports, directory, sweep, read models).

Importing the package registers the facts and effects the engine's workflows need (engine.plugins).
"""
from qcflow.services import applications, deaths, registry  # noqa: F401  (register plug-ins)
from qcflow.services import annual_report, compendium, improvement  # noqa: F401,E402  (H1, H2, H6)
from qcflow.services import handover, meetings, terms, vacancies  # noqa: F401,E402  (Y§26, Y§27, H4: terms, vacancies, handovers, dispatch evidence)
from qcflow.services import inspections  # noqa: F401,E402  (Y§14(四), Y§20 inspections)
from qcflow.services import consequences, orders  # noqa: F401,E402  (Y§24–§26 orders and removals, issue 9 part B)
from qcflow.services import assessment  # noqa: F401,E402  (Y§24 annual assessment, issue 9 part A)
