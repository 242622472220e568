"""No admin page for the audit log: it is read through the audit log page (audit/views.py),
which only auditors reach and which records each reading as a consultation."""
