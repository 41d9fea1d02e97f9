<?php
// mercure_publish.php -- Symfony's own Mercure publisher (Debian 12's php-symfony-mercure) for
// test_mercure_fronts.py: Symfony\Component\Mercure\Hub publishes each Update it is given.
//
// Usage: php mercure_publish.php < JOB   (php-cli, php-symfony-mercure)
// JOB is JSON: {"hub": MERCURE_URL, "token": JWT, "updates": [{"topics": [...], "data": S,
// "private": B, "id": S|null, "type": S|null}, ...]}. The updates are published in order, each
// by Hub::publish(), as a Symfony application publishes; prints one JSON array, for each update
// {"id": the hub's answer} or {"status": HTTP status, "body": the hub's answer, "error": what
// Symfony threw} when the hub refused it.
//
// The token comes from the test: Debian 12 does not package lcobucci/jwt, which Symfony's token
// factory (LcobucciFactory) needs, so an application on Debian's packages alone hands the hub a
// token made elsewhere through StaticTokenProvider (docs/mercure.md, "Symfony").
declare(strict_types=1);

require_once 'Symfony/Component/Mercure/autoload.php';

use Symfony\Component\HttpClient\Exception\ClientException;
use Symfony\Component\Mercure\Hub;
use Symfony\Component\Mercure\Jwt\StaticTokenProvider;
use Symfony\Component\Mercure\Update;

$job = json_decode(stream_get_contents(STDIN), true, 32, JSON_THROW_ON_ERROR);
$hub = new Hub($job['hub'], new StaticTokenProvider($job['token']));
$out = [];
foreach ($job['updates'] as $u) {
    $update = new Update($u['topics'], $u['data'] ?? '', (bool) ($u['private'] ?? false),
                         $u['id'] ?? null, $u['type'] ?? null);
    try {
        $out[] = ['id' => $hub->publish($update)];
    } catch (\Throwable $e) {
        $prev = $e->getPrevious();
        $r = ['error' => $e->getMessage(), 'status' => null, 'body' => null];
        if ($prev instanceof ClientException) {
            $r['status'] = $prev->getResponse()->getStatusCode();
            $r['body'] = $prev->getResponse()->getContent(false);
        }
        $out[] = $r;
    }
}
echo json_encode($out, JSON_UNESCAPED_SLASHES), "\n";
