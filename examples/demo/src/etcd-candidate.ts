// One candidate process of the etcd demo: campaigns in an election, reports what happens to it
// as JSON lines on stdout, and resigns on SIGTERM. Started by etcd.ts:
//   node --import tsx etcd-candidate.ts <hosts> <election> <name> <ttl ms>
import { EtcdElection, Session } from '@cf/distributed-etcd';
import { Etcd3 } from 'etcd3';

const [hosts = '', election = '', name = '', ttl = '2000'] = process.argv.slice(2);
const client = new Etcd3({ hosts: hosts.split(',') });
const candidate = new EtcdElection(client, election, { ttl: Number(ttl) });
const report = (event: string, extra: object = {}): void => {
  process.stdout.write(`${JSON.stringify({ event, name, ...extra })}\n`);
};

process.on('SIGTERM', () => {
  void (async () => {
    await candidate.resign();
    await Session.closeShared(client);
    client.close();
    report('resigned');
    process.exit(0);
  })();
});

report('campaigning');
const leadership = await candidate.campaign(name);
report('leading', { token: String(leadership.token) });
leadership.signal.addEventListener('abort', () => report('lost'));
// Lead until killed or told to resign.
setInterval(() => {}, 1 << 30);
