export type CommandName = 'keys generate' | 'token sign' | 'token decode' | 'token verify';

export const USAGE = `Usage: npm run -s jwt -- <command> [options]
       node --import tsx scripts/jwt.ts <command> [options]

Key pairs and short-lived client-signed JWTs, as a client application of an Amplify-style API
makes them: instead of openssl and jq scripts, or pasting a private key into a web page.

Commands:
  keys generate   make a key pair: private.pem (mode 0600), public.pem and jwks.json
  token sign      sign a short-lived token with the private key; prints only the token
  token decode    show a token's header and claims WITHOUT checking its signature
  token verify    check a token against a JWK Set (URL or file); prints its claims if valid

Run "npm run -s jwt -- <command> --help" for a command's options. Relative paths are taken from
the directory you run npm in. Nothing secret is printed: no private key, and no argument's value
in an error message.
Exit status: 0 ok, 1 failed (invalid token, unreadable file, unusable key), 2 bad usage.`;

export const COMMAND_USAGE: Record<CommandName, string> = {
  'keys generate': `Usage: npm run -s jwt -- keys generate --alg RS256|ES256|EdDSA [--out DIR] [--force]

Makes a new key pair and writes into DIR:
  private.pem   the private key (PKCS#8 PEM), created with mode 0600. It signs your tokens:
                keep it out of git, chat and web pages.
  public.pem    the public key (SPKI PEM), to register with the API provider
  jwks.json     the public key as a JWK Set: kid (its RFC 7638 SHA-256 thumbprint), alg, use "sig"

Options:
  --alg ALG    RS256 (RSA 2048 bits), ES256 (EC P-256) or EdDSA (Ed25519)
  --out DIR    where to write (default: the current directory; made with mode 0700 if missing)
  --force      replace an existing private.pem (its tokens stop verifying once the provider
               has the new public key)
  -h, --help   show this help

Prints the kid and the paths written, never the private key.`,

  'token sign': `Usage: npm run -s jwt -- token sign --key FILE --sub APP --aud AUD --exp DURATION [options]

Signs a short-lived token with your private key and prints only the token, so this works:
  TOKEN=$(npm run -s jwt -- token sign --key private.pem --sub my-app --aud https://api.example.com/token --exp 5m)
Header: alg, kid, typ "JWT". Claims: iss, sub, aud, iat (now), exp (now + DURATION), jti (a
random UUID), and any --claim.

Options:
  --key FILE               the private key PEM (PKCS#8, or PKCS#1/SEC1 as openssl writes them;
                           not encrypted)
  --sub APP                the subject: your application's id
  --aud AUD                the audience the API expects (often its token URL); repeat for several
  --exp DURATION           lifetime: 300 (seconds), 90s, 10m, 1h, ...
  --iss ISS                the issuer (default: the --sub value, as client-signed tokens use)
  --kid KID                the key id for the header (default: the key's RFC 7638 thumbprint,
                           the kid that keys generate writes into jwks.json)
  --alg ALG                RS256, RS384, RS512, PS256, PS384, PS512 (RSA key), ES256, ES384, ES512
                           (EC P-256, P-384, P-521 key) or EdDSA (Ed25519 key). It must fit the
                           key; default: RS256 for RSA, ES256/ES384/ES512 by curve, EdDSA
  --claim NAME=VALUE       an extra claim whose value is the string VALUE (repeatable)
  --claim-json NAME=JSON   an extra claim whose value is JSON: a number, true, false, null, an
                           array or an object, e.g. --claim-json 'scope=["read","write"]'
                           (repeatable). iss, sub, aud, exp, iat, nbf and jti cannot be set this way.
  --now EPOCH              for tests: sign as if the time were EPOCH (seconds since 1970)
  -h, --help               show this help`,

  'token decode': `Usage: npm run -s jwt -- token decode TOKEN
       npm run -s jwt -- token decode - < token.txt

Prints the token's header and payload as JSON ("verified": false), with iat, nbf and exp also as
ISO 8601 dates, WITHOUT checking the signature: anybody can write a token that decodes. Use
token verify before trusting a claim. "-" reads the token from standard input, which keeps it
out of your shell history and the process list.

Options:
  -h, --help   show this help`,

  'token verify': `Usage: npm run -s jwt -- token verify TOKEN --jwks URL|FILE [options]
       npm run -s jwt -- token verify - --jwks URL|FILE [options] < token.txt

Checks the token's signature against a JWK Set, then its claims: exp must be there and not past,
nbf not in the future, and iss/aud must match when --iss/--aud are given.
Valid: prints the payload as JSON, exit status 0. Invalid: one line on stderr saying why
(expired, bad signature, wrong issuer, wrong audience, unknown kid, ...), exit status 1.

Options:
  --jwks URL|FILE      the JWK Set: an https:// URL (http:// only for localhost), or a file such
                       as the jwks.json that keys generate writes
  --iss ISS            require this issuer
  --aud AUD            require this audience (repeat to accept any of several)
  --alg ALG            accept only this algorithm (repeatable; default: RS256, RS384, RS512,
                       PS256, PS384, PS512, ES256, ES384, ES512, EdDSA)
  --timeout DURATION   how long to wait for the JWK Set URL (default: 5s)
  --now EPOCH          for tests: check exp and nbf as if the time were EPOCH (seconds since 1970)
  -h, --help           show this help
"-" reads the token from standard input.`,
};
