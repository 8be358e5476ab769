"""The demo organisation, as data: read by ``manage.py demo_data``.

A mid-sized company with four teams running a dozen agents: finance operations, customer
support, the platform team and data science. Usernames are first names; everyone shares the
demo password the command prints.
"""

from __future__ import annotations

# username: (first, last, role, teams). Roles are the groups of agents.permissions.
PEOPLE = {
    "admin": ("Ada", "Admin", "platform-admin", ()),
    "reviewer": ("Rhea", "Okafor", "security-reviewer", ()),
    "alice": ("Alice", "Moreau", "team-member", ("finance-ops",)),
    "bob": ("Bob", "Lindqvist", "team-member", ("finance-ops",)),
    "carol": ("Carol", "Nakamura", "team-member", ("customer-support",)),
    "dan": ("Dan", "Ferreira", "team-member", ("platform", "customer-support")),
    "erin": ("Erin", "Walsh", "team-member", ("data-science",)),
}

TEAMS = {
    "finance-ops": (
        "Finance operations",
        "Accounts payable, reconciliation and the monthly close.",
    ),
    "customer-support": ("Customer support", "Tickets, refunds and the knowledge base."),
    "platform": ("Platform", "Deployments, incidents and cloud cost."),
    "data-science": ("Data science", "Forecasts and the analytics warehouse."),
}

# name (<resource slug>:<action>): (sensitivity, description). Each belongs to its resource.
SCOPES = {
    "ledger:read": ("medium", "Read general-ledger entries and balances."),
    "ledger:write": ("high", "Post journal entries to the general ledger."),
    "invoices:read": ("medium", "Read supplier invoices and their attachments."),
    "invoices:approve": ("high", "Approve supplier invoices for payment."),
    "payments:initiate": ("critical", "Initiate outgoing bank payments."),
    "helpdesk:read": ("low", "Read support tickets."),
    "helpdesk:write": ("medium", "Comment on, tag and route support tickets."),
    "crm:read": ("high", "Read customer records (personal data)."),
    "refunds:issue": ("high", "Issue refunds to customers."),
    "knowledge-base:read": ("low", "Read knowledge-base articles."),
    "mailer:send": ("medium", "Send email to customers from the support address."),
    "deployer:read": ("low", "Read deployment status and history."),
    "deployer:rollback": ("high", "Roll a deployment back to the previous release."),
    "observability:read": ("low", "Read service metrics and alerts."),
    "cloud-billing:read": ("medium", "Read the cloud bill and cost reports."),
    "warehouse:query": ("medium", "Run read-only queries on the analytics warehouse."),
    "warehouse:export": ("critical", "Export datasets out of the analytics warehouse."),
}

# slug: (name, audience, owner team, sensitivity, description)
RESOURCES = {
    "ledger": (
        "General ledger",
        "https://ledger.acme.example/",
        "finance-ops",
        "high",
        "The ERP's general-ledger API.",
    ),
    "invoices": (
        "Invoice inbox",
        "https://invoices.acme.example/",
        "finance-ops",
        "medium",
        "Supplier invoices as received by accounts payable.",
    ),
    "payments": (
        "Payments gateway",
        "https://payments.acme.example/",
        "finance-ops",
        "critical",
        "Outgoing bank payments.",
    ),
    "helpdesk": (
        "Helpdesk",
        "https://helpdesk.acme.example/",
        "customer-support",
        "medium",
        "Support tickets and macros.",
    ),
    "crm": (
        "Customer records",
        "https://crm.acme.example/",
        "customer-support",
        "high",
        "Customer profiles, orders and contact details.",
    ),
    "knowledge-base": (
        "Knowledge base",
        "https://kb.acme.example/",
        "customer-support",
        "low",
        "Public and internal help articles.",
    ),
    "deployer": (
        "Deployer",
        "https://deploy.acme.example/",
        "platform",
        "high",
        "The deployment pipeline.",
    ),
    "observability": (
        "Observability",
        "https://metrics.acme.example/",
        "platform",
        "low",
        "Metrics, logs and alerts.",
    ),
    "refunds": (
        "Refunds desk",
        "https://refunds.acme.example/",
        "customer-support",
        "high",
        "Refunds to customers' cards, under the support policy's limits.",
    ),
    "mailer": (
        "Customer mailer",
        "https://mail.acme.example/",
        "customer-support",
        "medium",
        "Email to customers from the support address (templates only).",
    ),
    "cloud-billing": (
        "Cloud billing",
        "https://billing.acme.example/",
        "platform",
        "medium",
        "The cloud provider's bill and cost reports.",
    ),
    "warehouse": (
        "Analytics warehouse",
        "https://warehouse.acme.example/",
        "data-science",
        "high",
        "The analytics warehouse (read replicas).",
    ),
}

# A grant: (scope, justification, days until it expires or None, granted by)
# A connection: (resource, actions, rate limit per minute, budget cap per day or None, floor)
# "usage": the history seeded into the usage facts before the engine computes trust (see
# _demo_usage.py): "steady" office hours for six weeks, "surge" the same and then 40x its usual
# volume in the last hour, None a new agent never seen at work. "review": a certified access
# review on record. No level is set by hand: the trust engine computes every one.
AGENTS = [
    {
        "slug": "invoice-reconciler",
        "name": "Invoice reconciler",
        "team": "finance-ops",
        "by": "alice",
        "purpose": "Matches supplier invoices against purchase orders and ledger entries and "
        "flags discrepancies for accounts payable.",
        "version": ("2.3.0", True),
        "grants": [
            ("invoices:read", "Reads every incoming invoice to match it.", None, "alice"),
            ("ledger:read", "Needs ledger balances to reconcile.", None, "alice"),
        ],
        "connections": [
            ("invoices", ["read"], 600, None, "pending"),
            ("ledger", ["read"], 300, None, "pending"),
        ],
        "usage": "steady",
        "review": True,
    },
    {
        "slug": "payment-scheduler",
        "name": "Payment scheduler",
        "team": "finance-ops",
        "by": "bob",
        "purpose": "Schedules approved supplier payments in batches before the bank cut-off.",
        "version": ("1.4.2", True),
        "grants": [
            ("invoices:read", "Reads approved invoices to batch them.", None, "bob"),
            ("payments:initiate", "Initiates the payment batches; capped daily.", 90, "reviewer"),
        ],
        "connections": [
            ("invoices", ["read"], 120, None, "pending"),
            ("payments", ["initiate"], 20, "250000.00", "trusted"),
        ],
        "usage": "surge",
    },
    {
        "slug": "expense-auditor",
        "name": "Expense auditor",
        "team": "finance-ops",
        "by": "alice",
        "purpose": "Samples employee expense claims and checks them against the travel policy.",
        "version": ("0.9.1", False),
        "grants": [("ledger:read", "Reads expense postings for the sample.", 30, "alice")],
        "connections": [("ledger", ["read"], 60, None, "pending")],
        "usage": None,
    },
    {
        "slug": "month-end-closer",
        "name": "Month-end closer",
        "team": "finance-ops",
        "by": "bob",
        "purpose": "Prepares accruals and posts closing journal entries during the monthly close.",
        "version": ("3.0.0", True),
        "grants": [
            ("ledger:read", "Reads balances for accruals.", None, "bob"),
            ("ledger:write", "Posts closing entries; reviewed each quarter.", 90, "reviewer"),
        ],
        "connections": [("ledger", ["read", "write"], 120, None, "trusted")],
        "usage": "steady",
    },
    {
        "slug": "support-triage",
        "name": "Support triage",
        "team": "customer-support",
        "by": "carol",
        "purpose": "Reads new tickets, tags them by product and urgency and routes them.",
        "version": ("5.1.0", True),
        "grants": [
            ("helpdesk:read", "Reads new tickets.", None, "carol"),
            ("helpdesk:write", "Tags and routes tickets.", None, "carol"),
            ("knowledge-base:read", "Links relevant articles.", None, "carol"),
            # Deliberately short: the beat task expires it a minute or two after the first run.
            ("crm:read", "Temporary: debugging a routing rule.", "short", "carol"),
        ],
        "connections": [
            ("helpdesk", ["read", "write"], 1200, None, "pending"),
            ("knowledge-base", ["read"], 1200, None, "untrusted"),
        ],
        "usage": "steady",
    },
    {
        "slug": "refund-assistant",
        "name": "Refund assistant",
        "team": "customer-support",
        "by": "carol",
        "purpose": "Proposes and issues refunds under 200 EUR for orders that arrived damaged.",
        "version": ("1.2.0", True),
        "grants": [
            ("helpdesk:read", "Reads the refund request.", None, "carol"),
            ("crm:read", "Checks the order history.", 60, "reviewer"),
            ("refunds:issue", "Issues small refunds; budget capped per day.", 60, "reviewer"),
        ],
        "connections": [
            ("helpdesk", ["read"], 300, None, "pending"),
            ("crm", ["read"], 120, None, "trusted"),
        ],
        "usage": "steady",
        "status": ("suspended", "Issued refunds above the 200 EUR policy limit; under review."),
    },
    {
        "slug": "kb-answerer",
        "name": "Knowledge-base answerer",
        "team": "customer-support",
        "by": "dan",
        "purpose": "Drafts answers to common questions from the knowledge base for a human.",
        "version": ("4.0.3", True),
        "grants": [
            ("knowledge-base:read", "Searches articles to draft answers.", None, "dan"),
            ("helpdesk:read", "Reads the question.", None, "dan"),
        ],
        "connections": [
            ("knowledge-base", ["read"], 3000, None, "untrusted"),
            ("helpdesk", ["read"], 600, None, "pending"),
        ],
        "usage": "steady",
    },
    {
        "slug": "churn-notifier",
        "name": "Churn notifier",
        "team": "customer-support",
        "by": "carol",
        "purpose": "Emails customers whose subscriptions are about to lapse (templates only).",
        "version": ("0.3.0", False),
        "grants": [("mailer:send", "Sends the renewal reminder.", 14, "carol")],
        "connections": [("mailer", ["send"], 60, "500.00", "trusted")],
        "usage": None,
    },
    {
        "slug": "deploy-sentinel",
        "name": "Deploy sentinel",
        "team": "platform",
        "by": "dan",
        "purpose": "Watches error rates after each deployment and rolls back if they double.",
        "version": ("2.0.0", True),
        "grants": [
            ("deployer:read", "Follows deployments.", None, "dan"),
            ("observability:read", "Watches error rates.", None, "dan"),
            (
                "deployer:rollback",
                "Rolls back a bad release without waiting for a human.",
                None,
                "reviewer",
            ),
        ],
        "connections": [
            ("deployer", ["read", "rollback"], 30, None, "trusted"),
            ("observability", ["read"], 600, None, "untrusted"),
        ],
        "usage": "steady",
    },
    {
        "slug": "incident-summariser",
        "name": "Incident summariser",
        "team": "platform",
        "by": "dan",
        "purpose": "Writes the first draft of the incident timeline from alerts and deploys.",
        "version": ("1.1.0", True),
        "grants": [
            ("observability:read", "Reads alerts.", None, "dan"),
            ("deployer:read", "Reads deploy history.", None, "dan"),
        ],
        "connections": [
            ("observability", ["read"], 300, None, "untrusted"),
            ("deployer", ["read"], 60, None, "pending"),
        ],
        "usage": "steady",
    },
    {
        "slug": "cost-watcher",
        "name": "Cloud cost watcher",
        "team": "platform",
        "by": "dan",
        "purpose": "Reports unusual cloud spend to the platform channel every morning.",
        "version": ("1.0.0", False),
        "grants": [("cloud-billing:read", "Reads the cloud bill.", None, "dan")],
        "connections": [("cloud-billing", ["read"], 60, None, "untrusted")],
        "usage": None,
    },
    {
        "slug": "forecast-builder",
        "name": "Demand forecast builder",
        "team": "data-science",
        "by": "erin",
        "purpose": "Rebuilds the weekly demand forecast from warehouse sales data.",
        "version": ("7.2.1", True),
        "grants": [("warehouse:query", "Reads sales history for the forecast.", None, "erin")],
        "connections": [("warehouse", ["query"], 120, "40.00", "pending")],
        "usage": "steady",
    },
    {
        "slug": "legacy-report-mailer",
        "name": "Legacy report mailer",
        "team": "data-science",
        "by": "erin",
        "purpose": "Emailed warehouse extracts to managers. Replaced by the BI dashboards.",
        "version": ("0.5.0", False),
        "grants": [("warehouse:export", "Exported the weekly extract.", 30, "erin")],
        "connections": [],
        "usage": None,
        "status": ("decommissioned", "Replaced by the BI dashboards; its export grant ended."),
    },
]

# Agents that get a client secret (the secret is thrown away: nobody needs it to look around),
# and the days until it expires: one is due for rotation within the week.
CREDENTIALS = {
    "invoice-reconciler": 80,
    "payment-scheduler": 5,
    "support-triage": 60,
    "kb-answerer": 85,
    "deploy-sentinel": 30,
    "forecast-builder": 45,
}

# slug: (name, team, description, runs). A run: (run id, triggered by, final status or None)
WORKFLOWS = {
    "monthly-close": (
        "Monthly close",
        "finance-ops",
        "Accruals, reconciliation and closing entries at each month end.",
        [
            ("monthly-close-2026-09", "user:bob", "completed"),
            ("monthly-close-2026-10", "user:bob", "completed"),
            ("monthly-close-2026-11", "system", None),
        ],
    ),
    "ticket-triage": (
        "Ticket triage",
        "customer-support",
        "Continuous triage of the support inbox.",
        [
            ("ticket-triage-2026-11-27", "system", "completed"),
            ("ticket-triage-2026-11-28", "system", None),
        ],
    ),
    "release-watch": (
        "Release watch",
        "platform",
        "Post-deployment monitoring of each production release.",
        [
            ("release-watch-r412", "user:dan", "completed"),
            ("release-watch-r413", "user:dan", "cancelled"),
        ],
    ),
}
