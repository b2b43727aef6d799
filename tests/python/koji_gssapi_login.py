"""Logs in to a Koji hub with the real koji client's gssapi_login (requests-gssapi,
SPNEGO, a keytab) and prints the logged-in user's name.

usage: koji_gssapi_login.py HUB_URL SERVER_CA PRINCIPAL KEYTAB
"""

import sys

import koji


def main():
    hub, serverca, principal, keytab = sys.argv[1:5]
    session = koji.ClientSession(hub, opts={"serverca": serverca, "max_retries": 1})
    session.gssapi_login(principal=principal, keytab=keytab, ccache="MEMORY:koji-gssapi-test")
    user = session.getLoggedInUser()
    print(user["name"])
    session.logout()


if __name__ == "__main__":
    main()
