<?php
// mercure_site.php -- a PHP site served by Apache itself (mod_php) that uses the Mercure hub as a
// Symfony application does, for test_mercure_fronts.py: it sets the subscriber's cookie
// (Symfony's Authorization), advertises the hub (Link: rel="mercure", Symfony's WebLink), and
// publishes on a request (Symfony's Hub).
//
// Configuration, as a Symfony app reads it from its environment (Apache's SetEnv here):
//   MERCURE_URL         how the site reaches the hub (its own web server)
//   MERCURE_PUBLIC_URL  what browsers open
//   MERCURE_JWT_SECRET  the secret its tokens are signed with (the hub's publisher and
//                       subscriber key file hold it)
//   MERCURE_ISSUER, MERCURE_AUDIENCE  the iss and aud of the current draft's tokens
// Requests (?do=...):
//   page                  an empty page (a place for the test's EventSources)
//   login-legacy&grant=T  sets the mercureAuthorization cookie with Symfony's Authorization
//                         (a legacy token: mercure.subscribe [T], exp in 10 minutes) and sends
//                         the discovery Link header
//   login-current&grant=T sets __Secure-mercure_access_token: an RFC 9068 access token (typ
//                         at+jwt) whose authorization_details grant subscribe on T
//   publish (POST topic, data, private)  publishes one update with Symfony's Hub; answers its id
//
// Tokens: Debian 12 does not package lcobucci/jwt, which Symfony's LcobucciFactory needs, so
// this site signs HS256 itself (hash_hmac) behind Symfony's own interfaces: a
// TokenFactoryInterface for the cookie, StaticTokenProvider for publishing.
declare(strict_types=1);

require_once 'Symfony/Component/Mercure/autoload.php';

use Symfony\Component\HttpFoundation\Request;
use Symfony\Component\Mercure\Authorization;
use Symfony\Component\Mercure\Hub;
use Symfony\Component\Mercure\HubRegistry;
use Symfony\Component\Mercure\Jwt\StaticTokenProvider;
use Symfony\Component\Mercure\Jwt\TokenFactoryInterface;
use Symfony\Component\Mercure\Update;
use Symfony\Component\WebLink\HttpHeaderSerializer;
use Symfony\Component\WebLink\Link;

function b64url(string $s): string
{
    return rtrim(strtr(base64_encode($s), '+/', '-_'), '=');
}

// A compact JWS, HS256, with the given typ.
function hs256(array $claims, string $secret, string $typ = 'JWT'): string
{
    $input = b64url(json_encode(['alg' => 'HS256', 'typ' => $typ])) . '.'
        . b64url(json_encode($claims, JSON_UNESCAPED_SLASHES | JSON_THROW_ON_ERROR));
    return $input . '.' . b64url(hash_hmac('sha256', $input, $secret, true));
}

// What LcobucciFactory makes (the mercure claim, exp as a number), signed with hash_hmac.
final class HmacFactory implements TokenFactoryInterface
{
    private $secret;

    public function __construct(string $secret)
    {
        $this->secret = $secret;
    }

    public function create(?array $subscribe = [], ?array $publish = [],
                           array $additionalClaims = []): string
    {
        $mercure = [];
        if (null !== $publish) {
            $mercure['publish'] = $publish;
        }
        if (null !== $subscribe) {
            $mercure['subscribe'] = $subscribe;
        }
        $claims = $additionalClaims;
        $claims['mercure'] = array_merge($mercure, $additionalClaims['mercure'] ?? []);
        foreach ($claims as $k => $v) {
            if ($v instanceof \DateTimeInterface) {
                $claims[$k] = (int) $v->format('U');
            }
        }
        return hs256($claims, $this->secret);
    }
}

$env = fn (string $k): string => (string) ($_SERVER[$k] ?? getenv($k));
$secret = $env('MERCURE_JWT_SECRET');
$factory = new HmacFactory($secret);
$hub = new Hub($env('MERCURE_URL'),
    new StaticTokenProvider(hs256(['mercure' => ['publish' => ['*']]], $secret)),
    $factory, $env('MERCURE_PUBLIC_URL'));
$request = Request::createFromGlobals();

switch ($request->query->get('do', 'page')) {
    case 'login-legacy':
        $auth = new Authorization(new HubRegistry($hub), 600);
        $cookie = $auth->createCookie($request, [(string) $request->query->get('grant')]);
        header('Set-Cookie: ' . $cookie, false);
        header('Link: ' . (new HttpHeaderSerializer())->serialize(
            [new Link('mercure', $hub->getPublicUrl())]));
        header('Content-Type: text/plain; charset=utf-8');
        echo "cookie set\n";
        break;
    case 'login-current':
        $now = time();
        $token = hs256([
            'iss' => $env('MERCURE_ISSUER'), 'aud' => $env('MERCURE_AUDIENCE'),
            'sub' => 'urn:uuid:' . bin2hex(random_bytes(16)), 'client_id' => $env('MERCURE_ISSUER'),
            'iat' => $now, 'exp' => $now + 600, 'jti' => bin2hex(random_bytes(16)),
            'authorization_details' => [[
                'type' => 'https://mercure.rocks/authorization-detail',
                'actions' => ['subscribe'],
                'topics' => [['match' => (string) $request->query->get('grant')]],
            ]],
        ], $secret, 'at+jwt');
        setcookie('__Secure-mercure_access_token', $token, [
            'expires' => $now + 600, 'path' => parse_url($hub->getPublicUrl(), PHP_URL_PATH),
            'secure' => true, 'httponly' => true, 'samesite' => 'Strict']);
        header('Content-Type: text/plain; charset=utf-8');
        echo "cookie set\n";
        break;
    case 'publish':
        $id = $hub->publish(new Update((string) $request->request->get('topic'),
            (string) $request->request->get('data'), $request->request->has('private')));
        header('Content-Type: text/plain; charset=utf-8');
        echo $id;
        break;
    default:
        header('Content-Type: text/html; charset=utf-8');
        echo "<!doctype html><title>a site with a Mercure hub</title>\n";
}
