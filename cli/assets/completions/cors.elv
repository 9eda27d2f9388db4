
use builtin;
use str;

set edit:completion:arg-completer[cors] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'cors'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'cors'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand check 'Send what a browser sends for one fetch() and say whether the page can read the answer, why not, and the fix'
            cand audit 'Probe your own API with crafted origins for the known CORS misconfigurations'
            cand validate 'Load a policy file (TOML or JSON) and print every problem, or the policy as the layer will apply it'
            cand proxy 'Run a CORS proxy in front of APIs that send no CORS headers (never an open proxy)'
            cand healthcheck 'Exit 0 when a running `cors proxy` answers on /_cors/healthz (for container health checks: the address comes from --listen or CORS_LISTEN)'
            cand completions 'Print the completion script for a shell to stdout'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'cors;check'= {
            cand --origin 'The page''s origin, e.g. `https://app.example.com` (or `null`)'
            cand -X 'The method (`fetch`''s `method`)'
            cand --request 'The method (`fetch`''s `method`)'
            cand -H 'A header the script sets, as `Name: value` (repeatable)'
            cand --header 'A header the script sets, as `Name: value` (repeatable)'
            cand --cookie 'Stands for the browser''s cookie jar: `name=value`, sent on the actual request only when credentials are included (a script cannot set `Cookie`)'
            cand --cacert 'Also trust the certificates in this PEM file'
            cand --timeout 'Seconds to wait for each answer'
            cand --resolve 'Connect to ADDR (the first that answers) for HOST:PORT, still sending the URL''s `Host` and TLS server name, as curl''s `--resolve` does (repeatable; IPv6 ADDR in brackets)'
            cand --credentials 'Credentials mode `include` (default `same-origin`)'
            cand --json 'Print one JSON object instead of the transcript'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'cors;audit'= {
            cand --origin 'An origin the API is meant to allow; the probes are built around it'
            cand --cacert 'Also trust the certificates in this PEM file'
            cand --timeout 'Seconds to wait for each answer'
            cand --resolve 'Connect to ADDR (the first that answers) for HOST:PORT, still sending the URL''s `Host` and TLS server name, as curl''s `--resolve` does (repeatable; IPv6 ADDR in brackets)'
            cand --json 'Print `{"findings": [...]}` instead of text'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'cors;validate'= {
            cand --env 'Overlay environment variables named PREFIX + setting (`CORS_ALLOW_ORIGINS`…), as the service would at start-up (single-policy files only)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'cors;proxy'= {
            cand --config 'The proxy''s configuration file (TOML)'
            cand --to 'One-line mode: forward every path to this upstream base URL'
            cand --allow-origin 'One-line mode: an origin the CORS policy allows (repeatable)'
            cand --allow-method 'One-line mode: a method the CORS policy allows (repeatable; default GET, HEAD, POST)'
            cand --allow-header 'One-line mode: a request header the CORS policy allows (repeatable)'
            cand --listen 'Address to listen on (default 127.0.0.1:8787, or the file''s `listen`; the environment''s CORS_LISTEN, when set, also overrides the file)'
            cand --log 'Log level: error, warn, info (request lines), debug, trace or off [default: RUST_LOG, else info]'
            cand --log-flush 'Longest time a log line waits in the 64 KiB buffer (250ms, 2s, 1m); 0 writes each line at once'
            cand --log-file 'Append the log to FILE instead of writing it to stderr'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'cors;healthcheck'= {
            cand --listen 'The address `cors proxy` listens on'
            cand --url 'Probe this URL instead (for example the `[admin]` listener''s `/_cors/healthz`)'
            cand --timeout 'Seconds to wait for the answer'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'cors;completions'= {
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'cors;help'= {
            cand check 'Send what a browser sends for one fetch() and say whether the page can read the answer, why not, and the fix'
            cand audit 'Probe your own API with crafted origins for the known CORS misconfigurations'
            cand validate 'Load a policy file (TOML or JSON) and print every problem, or the policy as the layer will apply it'
            cand proxy 'Run a CORS proxy in front of APIs that send no CORS headers (never an open proxy)'
            cand healthcheck 'Exit 0 when a running `cors proxy` answers on /_cors/healthz (for container health checks: the address comes from --listen or CORS_LISTEN)'
            cand completions 'Print the completion script for a shell to stdout'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'cors;help;check'= {
        }
        &'cors;help;audit'= {
        }
        &'cors;help;validate'= {
        }
        &'cors;help;proxy'= {
        }
        &'cors;help;healthcheck'= {
        }
        &'cors;help;completions'= {
        }
        &'cors;help;help'= {
        }
    ]
    $completions[$command]
}
