"""Engineers' accounts (issue 17): sign-in through django-allauth (local accounts and OpenID
Connect), the second factor, sessions, and the audit rows of signing in."""
