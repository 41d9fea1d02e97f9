#!/bin/sh
# demo-run.sh -- the demo's program (demo.sh: --run demo=THIS): prints a few lines half a
# second apart, as a build or a report would, for the page's program panel (run/demo).
# Each line becomes an event as it is printed; the exit status ends the stream.
echo "started: $RUN_NAME, $REQUEST_METHOD from $REMOTE_ADDR"
for step in fetch configure compile test package; do
    sleep 0.5
    echo "$step: done"
done
echo "finished"
exit 0
