<?php
// symfony_token.php -- tokens made by Debian's php-symfony-mercure (0.6.3) as a Symfony app makes them
//
// Run by make_tokens.py (php-cli and php-symfony-mercure installed); prints one JSON object:
// {"now": ..., "secret": ..., "publisher": TOKEN, "cookie": TOKEN, "noexp": TOKEN, ...}.
//
// Symfony's token factory, Symfony\Component\Mercure\Jwt\LcobucciFactory, signs with the
// lcobucci/jwt library, which Debian 12 does not package: with Debian's packages alone,
// `new LcobucciFactory($secret)` throws a LogicException ("the lcobucci/jwt package is not
// installed"), so an app either adds lcobucci/jwt with composer or hands the hub a token it
// made elsewhere (MERCURE_JWT_TOKEN, StaticTokenProvider). To have the component itself
// decide what a token holds (claims, exp, the `mercure` claim), this script supplies the
// small part of lcobucci/jwt's API that LcobucciFactory calls (namespace Lcobucci\JWT below),
// written from that library's documented behaviour in its 4.x releases: header
// {"typ":"JWT","alg":"HS256"}; claims JSON-encoded with unescaped slashes and Unicode; a date
// claim as an integer, or as a float with its microseconds when it has some (what
// `new \DateTimeImmutable("+3600 seconds")` always has); an `aud` of one value as a string;
// HMAC by PHP's hash_hmac. Everything else (which claims, their values, the Authorization
// header of a publish, the cookie) is Symfony's own code.
declare(strict_types=1);

namespace Lcobucci\JWT\Token {
    final class RegisteredClaims
    {
        public const AUDIENCE = 'aud';
        public const EXPIRATION_TIME = 'exp';
        public const ID = 'jti';
        public const ISSUED_AT = 'iat';
        public const ISSUER = 'iss';
        public const NOT_BEFORE = 'nbf';
        public const SUBJECT = 'sub';
        public const DATE_CLAIMS = [self::ISSUED_AT, self::NOT_BEFORE, self::EXPIRATION_TIME];
    }

    final class Plain
    {
        private $s;

        public function __construct(string $s)
        {
            $this->s = $s;
        }

        public function toString(): string
        {
            return $this->s;
        }
    }

    final class Builder
    {
        private $headers = ['typ' => 'JWT', 'alg' => null];
        private $claims = [];

        private function with(string $name, $value): self
        {
            $b = clone $this;
            $b->claims[$name] = $value;
            return $b;
        }

        public function permittedFor(string ...$aud): self
        {
            $have = $this->claims[RegisteredClaims::AUDIENCE] ?? [];
            return $this->with(RegisteredClaims::AUDIENCE, array_values(array_merge($have, array_diff($aud, $have))));
        }

        public function expiresAt(\DateTimeImmutable $d): self { return $this->with(RegisteredClaims::EXPIRATION_TIME, $d); }
        public function issuedAt(\DateTimeImmutable $d): self { return $this->with(RegisteredClaims::ISSUED_AT, $d); }
        public function canOnlyBeUsedAfter(\DateTimeImmutable $d): self { return $this->with(RegisteredClaims::NOT_BEFORE, $d); }
        public function issuedBy(string $s): self { return $this->with(RegisteredClaims::ISSUER, $s); }
        public function relatedTo(string $s): self { return $this->with(RegisteredClaims::SUBJECT, $s); }
        public function identifiedBy(string $s): self { return $this->with(RegisteredClaims::ID, $s); }
        public function withClaim(string $name, $value): self { return $this->with($name, $value); }

        private static function b64(string $s): string
        {
            return rtrim(strtr(base64_encode($s), '+/', '-_'), '=');
        }

        private static function json(array $a): string
        {
            return json_encode($a, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR);
        }

        public function getToken(\Lcobucci\JWT\Signer $signer, \Lcobucci\JWT\Signer\Key $key): Plain
        {
            $headers = $this->headers;
            $headers['alg'] = $signer->algorithmId();
            $claims = $this->claims;
            if (isset($claims['aud']) && 1 === \count($claims['aud'])) {
                $claims['aud'] = current($claims['aud']);
            }
            foreach (RegisteredClaims::DATE_CLAIMS as $c) {
                if (isset($claims[$c]) && $claims[$c] instanceof \DateTimeImmutable) {
                    $d = $claims[$c];
                    $claims[$c] = '000000' === $d->format('u') ? (int) $d->format('U') : (float) $d->format('U.u');
                }
            }
            $input = self::b64(self::json($headers)).'.'.self::b64(self::json($claims));
            return new Plain($input.'.'.self::b64($signer->sign($input, $key)));
        }
    }
}

namespace Lcobucci\JWT {
    interface Signer
    {
        public function algorithmId(): string;
        public function sign(string $payload, Signer\Key $key): string;
    }

    final class Configuration
    {
        private $signer;
        private $key;

        public static function forSymmetricSigner(Signer $signer, Signer\Key $key): self
        {
            $c = new self();
            $c->signer = $signer;
            $c->key = $key;
            return $c;
        }

        public function builder(): Token\Builder { return new Token\Builder(); }
        public function signer(): Signer { return $this->signer; }
        public function signingKey(): Signer\Key { return $this->key; }
    }
}

namespace Lcobucci\JWT\Signer {
    interface Key
    {
        public function contents(): string;
    }
}

namespace Lcobucci\JWT\Signer\Key {
    final class InMemory implements \Lcobucci\JWT\Signer\Key
    {
        private $contents;

        public static function plainText(string $contents, string $passphrase = ''): self
        {
            $k = new self();
            $k->contents = $contents;
            return $k;
        }

        public function contents(): string { return $this->contents; }
    }
}

namespace Lcobucci\JWT\Signer\Hmac {
    final class Sha256 implements \Lcobucci\JWT\Signer
    {
        public function algorithmId(): string { return 'HS256'; }
        public function sign(string $payload, \Lcobucci\JWT\Signer\Key $key): string
        {
            return hash_hmac('sha256', $payload, $key->contents(), true);
        }
    }
}

namespace {
    require_once 'Symfony/Component/Mercure/autoload.php';
    require_once 'Symfony/Component/HttpClient/autoload.php';

    use Symfony\Component\HttpClient\MockHttpClient;
    use Symfony\Component\HttpClient\Response\MockResponse;
    use Symfony\Component\HttpFoundation\Request;
    use Symfony\Component\Mercure\Authorization;
    use Symfony\Component\Mercure\Hub;
    use Symfony\Component\Mercure\HubRegistry;
    use Symfony\Component\Mercure\Jwt\FactoryTokenProvider;
    use Symfony\Component\Mercure\Jwt\LcobucciFactory;
    use Symfony\Component\Mercure\Update;

    // Symfony's recipe default for MERCURE_JWT_SECRET (34 bytes).
    $secret = '!ChangeThisMercureHubJWTSecretKey!';
    $out = ['now' => time(), 'secret' => $secret];

    // A publisher, as MercureBundle wires it: Hub + FactoryTokenProvider(publish: ['*']).
    // The token is taken from the request Hub::publish() sends.
    $sent = null;
    $client = new MockHttpClient(function ($method, $url, $options) use (&$sent) {
        $sent = $options;
        return new MockResponse('urn:uuid:0193b1c0-0000-7000-8000-000000000001');
    });
    $factory = new LcobucciFactory($secret);
    $hub = new Hub('https://example.com/.well-known/mercure',
        new FactoryTokenProvider($factory, [], ['*']), $factory, null, $client);
    $hub->publish(new Update('https://example.com/books/1', '{"title":"x"}', true));
    foreach ($sent['normalized_headers']['authorization'] ?? [] as $h) {
        $out['publisher'] = preg_replace('/^Authorization: Bearer /i', '', $h);
    }

    // A subscriber's cookie, as a controller sets it (Authorization::setCookie), with a
    // payload, for a hub on the same host.
    $registry = new HubRegistry($hub);
    $auth = new Authorization($registry);
    $request = Request::create('https://example.com/books');
    $cookie = $auth->createCookie($request, ['https://example.com/books/{id}', 'https://example.com/users/42'],
        [], ['mercure' => ['payload' => ['user' => 'https://example.com/users/42']]]);
    $out['cookie'] = $cookie->getValue();
    $out['cookie_name'] = $cookie->getName();

    // A factory made with a null lifetime (LcobucciFactory's third argument): no exp.
    $noexp = new LcobucciFactory($secret, 'hmac.sha256', null);
    $out['noexp'] = $noexp->create(['*'], ['https://example.com/books/{id}']);

    echo json_encode($out, JSON_UNESCAPED_SLASHES | JSON_PRETTY_PRINT), "\n";
}
