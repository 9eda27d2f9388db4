-- A simple cross-origin GET from an allowed origin, as a browser sends it.
wrk.method = "GET"
wrk.headers["Origin"] = "https://app2.example.com"
wrk.headers["Accept"] = "*/*"
