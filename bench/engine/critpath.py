#!/usr/bin/env python3
"""critpath.py - where a chain's time goes between one task's end and the
next one's start, from a system-wide perf trace of one `dagctl test chain200`.

    bench/engine/critpath.sh [DAGCTL_BIN]     # records and runs this

or by hand (root, or kernel.perf_event_paranoid <= -1):

    perf record -a -o trace.data -e sched:sched_process_exec,\
sched:sched_process_exit,sched:sched_switch,sched:sched_wakeup,\
syscalls:sys_enter_sendto,syscalls:sys_exit_recvfrom,syscalls:sys_enter_vfork \
      -- dagctl test chain200 --quiet
    perf script -i trace.data -F comm,pid,tid,cpu,time,event,trace | critpath.py

For each edge of the chain (the tasks run /bin/true) it finds, after the
task's exit: the supervisor's report (its sendto), the scheduler's receipt
(recvfrom), the scheduler's hand-over of the next try (a sendto longer than
the 1-byte request to the supervisor server), the next supervisor's
receipt, its vfork() and the next task's exec. It prints the median and
the 90th percentile of each step in microseconds, and the CPU time the
scheduler and the next supervisor spent on those steps (from sched_switch):
unlike the wall times, that does not grow with the machine's load.
"""
import re
import statistics
import sys

LINE = re.compile(r'\s*(.+?)\s+(\d+)/(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+(\S+):\s*(.*)')
STEPS = ['exit', 'report', 'received', 'handed', 'got_try', 'vfork', 'exec']


def main():
    events = []
    for line in sys.stdin:
        m = LINE.match(line)
        if m:
            comm, _pid, tid, _cpu, t, ev, rest = m.groups()
            events.append((float(t) * 1e6, comm.strip(), int(tid), ev, rest))
    events.sort(key=lambda e: e[0])

    # On-CPU intervals per thread, from the context switches.
    running, since = {}, {}
    for t, _comm, _tid, ev, rest in events:
        if ev != 'sched:sched_switch':
            continue
        prev = int(re.search(r'prev_pid=(\d+)', rest).group(1))
        nxt = int(re.search(r'next_pid=(\d+)', rest).group(1))
        if prev in since:
            running.setdefault(prev, []).append((since.pop(prev), t))
        since[nxt] = t

    def on_cpu(tid, a, b):
        return sum(min(y, b) - max(x, a) for x, y in running.get(tid, []) if y > a and x < b)

    edges, cur = [], None
    for t, comm, tid, ev, rest in events:
        if ev == 'sched:sched_process_exit' and comm == 'true':
            cur = {'exit': t}
            edges.append(cur)
        elif cur is None:
            continue
        elif ev == 'syscalls:sys_enter_sendto' and comm == 'dagctl-supervis' and 'report' not in cur:
            cur['report'] = t
        elif ev == 'syscalls:sys_exit_recvfrom' and comm == 'dagctl' and 'received' not in cur:
            cur['received'], cur['sched'] = t, tid
        elif (ev == 'syscalls:sys_enter_sendto' and comm == 'dagctl' and 'received' in cur
              and 'len: 0x00000001' not in rest and 'handed' not in cur):
            cur['handed'] = t
        elif (ev == 'syscalls:sys_exit_recvfrom' and comm == 'dagctl-supervis' and 'handed' in cur
              and 'got_try' not in cur):
            cur['got_try'], cur['sup'] = t, tid
        elif ev == 'syscalls:sys_enter_vfork' and 'got_try' in cur and 'vfork' not in cur:
            cur['vfork'] = t
        elif ev == 'sched:sched_process_exec' and 'true' in rest:
            cur['exec'] = t
            cur = None
    edges = [e for e in edges if all(k in e for k in STEPS)]
    if not edges:
        sys.exit('critpath.py: no complete edge in the trace')

    def show(name, values):
        values = sorted(values)
        p90 = values[min(len(values) - 1, int(len(values) * 0.9))]
        print(f'  {name:<44} p50 {statistics.median(values):7.0f}  p90 {p90:7.0f}')

    print(f'{len(edges)} edges, microseconds')
    for a, b in zip(STEPS, STEPS[1:]):
        show(f'{a} -> {b}', [e[b] - e[a] for e in edges])
    show('exit -> exec (whole gap)', [e['exec'] - e['exit'] for e in edges])
    show('scheduler on CPU, received -> handed', [on_cpu(e['sched'], e['received'], e['handed'])
                                                  for e in edges])
    show('supervisor on CPU, got_try -> vfork', [on_cpu(e['sup'], e['got_try'], e['vfork'])
                                                 for e in edges])


if __name__ == '__main__':
    main()
