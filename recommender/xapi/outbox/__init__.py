"""The outbox of statements for a Learning Record Store: `base` (the contract and the push),
`sqlite` (`<home>/xapi.sqlite`) and `postgres` (`rec_xapi_outbox`); `api.backends` opens one."""
