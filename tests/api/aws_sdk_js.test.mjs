// The unmodified AWS SDK for JavaScript v3 (@aws-sdk/client-iot, client-iot-jobs-data-plane,
// client-iot-data-plane; versions pinned in tools/package.json) against bellwetherd: the control
// plane subset of spec section 5, the iot-jobs-data device API (section 4), the iot-data shadow and
// publish API (section 7), and the AWS error classes the SDK derives from x-amzn-ErrorType.
// Only `endpoint`, `region` and the credentials are configured, as a user of AWS would.
// Run by tests/api/test_aws_sdk_js.sh; prints "N passed, M failed" and exits non-zero on failure.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../tools/package.json'));
const iotSdk = require('@aws-sdk/client-iot');
const jobsSdk = require('@aws-sdk/client-iot-jobs-data-plane');
const dataSdk = require('@aws-sdk/client-iot-data-plane');

const endpoint = process.env.BW_TEST_URL;
const config = {
	endpoint,
	region: process.env.BW_AWS_REGION || 'us-east-1',
	credentials: {
		accessKeyId: process.env.BW_TEST_AWS_ACCESS_KEY,
		secretAccessKey: process.env.BW_TEST_AWS_SECRET_KEY,
	},
	maxAttempts: 1,
};
const iot = new iotSdk.IoTClient(config);
const jobs = new jobsSdk.IoTJobsDataPlaneClient(config);
const data = new dataSdk.IoTDataPlaneClient(config);

let passed = 0;
let failed = 0;
function check(cond, what) {
	if (cond) {
		passed++;
	} else {
		failed++;
		console.log(`FAIL: ${what}`);
	}
}
function eq(actual, expected, what) {
	check(actual === expected, `${what}: got ${JSON.stringify(actual)}, want ${JSON.stringify(expected)}`);
}
// expectError: the call rejects with the SDK exception class `name` (and HTTP status).
async function expectError(promise, name, status, what) {
	try {
		await promise;
		check(false, `${what}: succeeded, expected ${name}`);
	} catch (e) {
		eq(e.name, name, `${what}: error class`);
		if (status)
			eq(e.$metadata?.httpStatusCode, status, `${what}: HTTP status`);
	}
}
// step: runs one scenario step; an unexpected exception counts as a failure and is printed.
async function step(what, fn) {
	try {
		await fn();
	} catch (e) {
		check(false, `${what}: unexpected ${e.name}: ${e.message}`);
	}
}

const run = `${process.pid}-${Date.now() % 100000}`;
const thingA = `sdk-a-${run}`;
const thingB = `sdk-b-${run}`;
const group = `sdk-g-${run}`;
const jobId = `sdk-job-${run}`;
const templateId = `sdk-tpl-${run}`;
let groupArn = '';
let thingAArn = '';

await step('CreateThing', async () => {
	const a = await iot.send(new iotSdk.CreateThingCommand({
		thingName: thingA, attributePayload: { attributes: { model: 'm1' } },
	}));
	eq(a.thingName, thingA, 'CreateThing name');
	check(/^arn:aws:iot:[^:]+:\d{12}:thing\//.test(a.thingArn), `CreateThing arn ${a.thingArn}`);
	thingAArn = a.thingArn;
	await iot.send(new iotSdk.CreateThingCommand({ thingName: thingB }));
});

await step('DescribeThing / ListThings', async () => {
	const d = await iot.send(new iotSdk.DescribeThingCommand({ thingName: thingA }));
	eq(d.thingName, thingA, 'DescribeThing name');
	eq(d.attributes?.model, 'm1', 'DescribeThing attribute');
	check(typeof d.version === 'number', 'DescribeThing version is a number');
	// the shared test database holds many things: page through all of them with nextToken
	let found = false;
	let pages = 0;
	for await (const page of iotSdk.paginateListThings({ client: iot }, { maxResults: 250 })) {
		pages++;
		if ((page.things || []).some((t) => t.thingName === thingB)) found = true;
		if (pages > 400) break;
	}
	check(found, `ListThings (paged, ${pages} pages) has B`);
	await expectError(iot.send(new iotSdk.DescribeThingCommand({ thingName: `missing-${run}` })),
		'ResourceNotFoundException', 404, 'DescribeThing missing');
});

await step('CreateThingGroup / AddThingToThingGroup', async () => {
	const g = await iot.send(new iotSdk.CreateThingGroupCommand({ thingGroupName: group }));
	eq(g.thingGroupName, group, 'CreateThingGroup name');
	groupArn = g.thingGroupArn;
	check(/:thinggroup\//.test(groupArn || ''), `group arn ${groupArn}`);
	await iot.send(new iotSdk.AddThingToThingGroupCommand({ thingGroupName: group, thingName: thingB }));
	passed++;
});

await step('CreateJobTemplate / DescribeJobTemplate', async () => {
	const t = await iot.send(new iotSdk.CreateJobTemplateCommand({
		jobTemplateId: templateId, description: 'sdk template',
		document: JSON.stringify({ op: 'template' }),
		timeoutConfig: { inProgressTimeoutInMinutes: 30 },
	}));
	eq(t.jobTemplateId, templateId, 'CreateJobTemplate id');
	const d = await iot.send(new iotSdk.DescribeJobTemplateCommand({ jobTemplateId: templateId }));
	eq(d.description, 'sdk template', 'DescribeJobTemplate description');
	eq(JSON.parse(d.document).op, 'template', 'DescribeJobTemplate document');
	eq(d.timeoutConfig?.inProgressTimeoutInMinutes, 30, 'DescribeJobTemplate timeout');
});

await step('CreateJob / DescribeJob / ListJobs', async () => {
	const c = await iot.send(new iotSdk.CreateJobCommand({
		jobId, targets: [thingAArn, groupArn], description: 'sdk job',
		document: JSON.stringify({ op: 'update', version: '1.2.3' }),
		targetSelection: 'SNAPSHOT',
	}));
	eq(c.jobId, jobId, 'CreateJob id');
	check((c.jobArn || '').endsWith(`:job/${jobId}`), `CreateJob arn ${c.jobArn}`);
	const d = await iot.send(new iotSdk.DescribeJobCommand({ jobId }));
	eq(d.job?.jobId, jobId, 'DescribeJob id');
	eq(d.job?.status, 'IN_PROGRESS', 'DescribeJob status');
	eq(d.job?.targetSelection, 'SNAPSHOT', 'DescribeJob targetSelection');
	check(d.job?.createdAt instanceof Date, 'DescribeJob createdAt parsed as a date');
	const l = await iot.send(new iotSdk.ListJobsCommand({ maxResults: 100 }));
	check(l.jobs?.some((j) => j.jobId === jobId), 'ListJobs lists the job');
	await expectError(iot.send(new iotSdk.CreateJobCommand({
		jobId, targets: [thingAArn], document: '{}',
	})), 'ResourceAlreadyExistsException', 409, 'CreateJob twice');
	await expectError(iot.send(new iotSdk.CreateJobCommand({
		jobId: `${jobId}-bad`, targets: [thingAArn], document: '[1,2]',
	})), 'InvalidRequestException', 400, 'CreateJob with a non-object document');
});

await step('ListJobExecutionsForJob / ForThing / DescribeJobExecution', async () => {
	const l = await iot.send(new iotSdk.ListJobExecutionsForJobCommand({ jobId }));
	const names = (l.executionSummaries || []).map((s) => s.thingArn.split('/').pop()).sort();
	eq(JSON.stringify(names), JSON.stringify([thingA, thingB].sort()), 'executions of the job');
	const t = await iot.send(new iotSdk.ListJobExecutionsForThingCommand({ thingName: thingA }));
	check(t.executionSummaries?.some((s) => s.jobId === jobId), 'executions of thing A');
	const d = await iot.send(new iotSdk.DescribeJobExecutionCommand({ jobId, thingName: thingA }));
	eq(d.execution?.status, 'QUEUED', 'DescribeJobExecution status');
	eq(d.execution?.executionNumber, 1, 'DescribeJobExecution executionNumber');
});

await step('iot-jobs-data: pending, start-next, update', async () => {
	const p = await jobs.send(new jobsSdk.GetPendingJobExecutionsCommand({ thingName: thingA }));
	check(p.queuedJobs?.some((j) => j.jobId === jobId), 'GetPendingJobExecutions queued');
	const s = await jobs.send(new jobsSdk.StartNextPendingJobExecutionCommand({
		thingName: thingA, statusDetails: { step: 'download' },
	}));
	eq(s.execution?.jobId, jobId, 'StartNext job');
	eq(s.execution?.status, 'IN_PROGRESS', 'StartNext status');
	eq(JSON.parse(s.execution?.jobDocument || '{}').version, '1.2.3', 'StartNext document');
	const version = s.execution?.versionNumber;
	await expectError(jobs.send(new jobsSdk.UpdateJobExecutionCommand({
		thingName: thingA, jobId, status: 'SUCCEEDED', expectedVersion: version + 5,
	})), 'InvalidStateTransitionException', 409,
	'UpdateJobExecution with a wrong expectedVersion (spec 4.2)');
	const u = await jobs.send(new jobsSdk.UpdateJobExecutionCommand({
		thingName: thingA, jobId, status: 'SUCCEEDED', expectedVersion: version,
		statusDetails: { step: 'done' }, includeJobExecutionState: true,
	}));
	eq(u.executionState?.status, 'SUCCEEDED', 'UpdateJobExecution state');
	await expectError(jobs.send(new jobsSdk.UpdateJobExecutionCommand({
		thingName: thingA, jobId, status: 'IN_PROGRESS',
	})), 'InvalidStateTransitionException', 409, 'update of a terminal execution');
	const d = await jobs.send(new jobsSdk.DescribeJobExecutionCommand({
		thingName: thingA, jobId, includeJobDocument: true,
	}));
	eq(d.execution?.status, 'SUCCEEDED', 'data-plane DescribeJobExecution status');
	eq(d.execution?.statusDetails?.step, 'done', 'data-plane statusDetails');
	await expectError(jobs.send(new jobsSdk.DescribeJobExecutionCommand({
		thingName: thingA, jobId: `missing-${run}`,
	})), 'ResourceNotFoundException', 404, 'data-plane DescribeJobExecution missing');
});

await step('CancelJobExecution / CancelJob / DeleteJob', async () => {
	await iot.send(new iotSdk.CancelJobExecutionCommand({ jobId, thingName: thingB }));
	const d = await iot.send(new iotSdk.DescribeJobExecutionCommand({ jobId, thingName: thingB }));
	eq(d.execution?.status, 'CANCELED', 'canceled execution');
	// every execution is terminal now: the scheduler completes the SNAPSHOT job on its next
	// tick, and then it can no longer be canceled
	let j = null;
	for (let i = 0; i < 100; i++) {
		j = await iot.send(new iotSdk.DescribeJobCommand({ jobId }));
		if (j.job?.status === 'COMPLETED') break;
		await new Promise((r) => setTimeout(r, 100));
	}
	eq(j.job?.status, 'COMPLETED', 'job completed');
	eq(j.job?.jobProcessDetails?.numberOfSucceededThings, 1, 'succeeded counter');
	eq(j.job?.jobProcessDetails?.numberOfCanceledThings, 1, 'canceled counter');
	await expectError(iot.send(new iotSdk.CancelJobCommand({ jobId })),
		'InvalidStateTransitionException', 409, 'CancelJob of a completed job');
	await iot.send(new iotSdk.DeleteJobCommand({ jobId }));
	// DELETION_IN_PROGRESS until the scheduler removes it (spec 3.11), then 404
	let gone = '';
	for (let i = 0; i < 100 && !gone; i++) {
		try {
			const g = await iot.send(new iotSdk.DescribeJobCommand({ jobId }));
			eq(g.job?.status, 'DELETION_IN_PROGRESS', 'deleted job status');
			await new Promise((r) => setTimeout(r, 100));
		} catch (e) {
			gone = e.name;
		}
	}
	eq(gone, 'ResourceNotFoundException', 'DescribeJob after the deletion finished');

	// a job still in progress: DeleteJob without force is refused, CancelJob works
	const job2 = `${jobId}-2`;
	await iot.send(new iotSdk.CreateJobCommand({
		jobId: job2, targets: [thingAArn], document: JSON.stringify({ op: 'two' }),
	}));
	await expectError(iot.send(new iotSdk.DeleteJobCommand({ jobId: job2 })),
		'InvalidStateTransitionException', 409, 'DeleteJob of an in-progress job');
	const c = await iot.send(new iotSdk.CancelJobCommand({ jobId: job2, comment: 'sdk cancel' }));
	eq(c.jobId, job2, 'CancelJob id');
	const d2 = await iot.send(new iotSdk.DescribeJobCommand({ jobId: job2 }));
	eq(d2.job?.status, 'CANCELED', 'job canceled');
	eq(d2.job?.comment, 'sdk cancel', 'cancel comment');
	await iot.send(new iotSdk.DeleteJobCommand({ jobId: job2 }));
	passed++;
});

await step('iot-data: shadow and publish', async () => {
	const payload = new TextEncoder().encode(JSON.stringify({ state: { desired: { led: 'on' } } }));
	const u = await data.send(new dataSdk.UpdateThingShadowCommand({ thingName: thingA, payload }));
	const doc = JSON.parse(new TextDecoder().decode(u.payload));
	eq(doc.state?.desired?.led, 'on', 'UpdateThingShadow desired');
	await data.send(new dataSdk.UpdateThingShadowCommand({ thingName: thingA, shadowName: 'cfg', payload }));
	const g = await data.send(new dataSdk.GetThingShadowCommand({ thingName: thingA, shadowName: 'cfg' }));
	eq(JSON.parse(new TextDecoder().decode(g.payload)).state?.delta?.led, 'on', 'named shadow delta');
	const n = await data.send(new dataSdk.ListNamedShadowsForThingCommand({ thingName: thingA }));
	check(n.results?.includes('cfg'), 'ListNamedShadowsForThing');
	await data.send(new dataSdk.PublishCommand({
		topic: `sdk/${run}/hello`, qos: 1, payload: new TextEncoder().encode('hi'),
	}));
	passed++;
	await expectError(data.send(new dataSdk.GetThingShadowCommand({ thingName: thingB })),
		'ResourceNotFoundException', 404, 'GetThingShadow missing');
});

await step('SigV4 with a wrong secret is refused', async () => {
	const bad = new iotSdk.IoTClient({
		...config, credentials: { ...config.credentials, secretAccessKey: 'wrong-secret' },
	});
	try {
		await bad.send(new iotSdk.ListThingsCommand({}));
		check(false, 'wrong secret accepted');
	} catch (e) {
		eq(e.$metadata?.httpStatusCode, 403, 'wrong secret status');
	}
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
