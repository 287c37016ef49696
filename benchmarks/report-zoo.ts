// The zoo and single-operator section of the suite (issue 10): whole networks the suite builds itself
// (benchmarks/models/zoo.ts) and one-node graphs (benchmarks/models/single-ops.ts), each timed against
// onnxruntime-web in the suite's interleaved rotation and checked against onnxruntime-node. This file turns those
// results into the summary, the markdown report and issue 10's acceptance lines.

import { diff, geomean, ms, ratio } from './format.js';
import { checkLine, clip, escapeCell, firstProblem, loadText, outputsMatch, problemList, tableOf } from './report.js';
import type { ModelResult, SuiteResult } from './results.js';

/** Issue 10's targets: every single-operator row, the zoo's worst and its geometric mean (ours / onnxruntime-web). */
export const ZOO_TARGETS = { singleOp: 0.8, zooEach: 1, zooGeomean: 0.5 };

export function zooSummary(models: ModelResult[]): NonNullable<SuiteResult['summary']['zoo']> {
  const group = (g: 'zoo' | 'ops') => {
    const list = models.filter((m) => m.group === g);
    const measured = list.filter((m) => m.ratios.latency !== undefined);
    const worst = measured.reduce<ModelResult | undefined>((w, m) => (!w || m.ratios.latency! > w.ratios.latency! ? m : w), undefined);
    return {
      models: list.length, measured: measured.length, geomean: geomean(measured.map((m) => m.ratios.latency!)),
      worst: worst && { name: worst.name, ratio: worst.ratios.latency! },
    };
  };
  return { zoo: group('zoo'), ops: group('ops') };
}

const HEADER = ['section', 'model', 'configuration', 'compile ms', 'median ms ours / ort-web', 'ours / ort-web', 'p90 ms ours / ort-web', 'ort-node ms', 'max diff', 'notes'];

function row(m: ModelResult): string[] {
  const ours = m.engines['onnx2wasm'], web = m.engines['ort-web'];
  const d = m.check['onnx2wasm'];
  const limit = m.group === 'ops' ? ZOO_TARGETS.singleOp : ZOO_TARGETS.zooEach;
  const over = m.ratios.latency !== undefined && m.ratios.latency > limit ? ' ✗' : '';
  return [
    m.group === 'ops' ? 'single op' : 'zoo', m.name, m.description, m.compile ? ms(m.compile.ms) : '✗',
    `${ms(ours.steady?.median)} / ${ms(web.steady?.median)}`, `${ratio(m.ratios.latency)}${over}`,
    `${ms(ours.steady?.p90)} / ${ms(web.steady?.p90)}`, ms(m.engines['ort-node'].steady?.median),
    d ? diff(d.maxAbsDiff) + (outputsMatch(d) ? '' : ' ✗') : '–', clip(firstProblem(m) ?? '', 90),
  ].map(escapeCell);
}

export function zooTable(r: SuiteResult): string {
  return tableOf(HEADER, r.models.map(row));
}

/** Issue 10's acceptance points that the suite measures, for the groups in this run (one line each). */
export function zooAcceptance(r: SuiteResult): string[] {
  const check = checkLine;
  const s = r.summary.zoo ?? zooSummary(r.models);
  const compiled = r.models.filter((m) => m.compile);
  const unchecked = compiled.filter((m) => !m.check['onnx2wasm']).map((m) => `${m.name} unchecked`);
  const unmeasured = (list: ModelResult[]) => list.filter((m) => m.ratios.latency === undefined).map((m) => `${m.name} not measured`);
  const over = (list: ModelResult[], limit: number) => list.filter((m) => (m.ratios.latency ?? 0) > limit).map((m) => `${m.name} ${ratio(m.ratios.latency)}`);
  const lines = [
    check(compiled.length === r.models.length, `every model compiles (${compiled.length}/${r.models.length})`, r.models.filter((m) => !m.compile).map((m) => m.name)),
    check(!r.summary.mismatches.length && !unchecked.length, 'outputs match onnxruntime-node', [...r.summary.mismatches, ...unchecked]),
  ];
  const ops = r.models.filter((m) => m.group === 'ops');
  if (ops.length) {
    const bad = [...unmeasured(ops), ...over(ops, ZOO_TARGETS.singleOp)];
    lines.push(check(!bad.length, `single-operator section: every configuration <= ${ZOO_TARGETS.singleOp} of onnxruntime-web's time ` +
      `(worst: ${s.ops.worst ? `${s.ops.worst.name} ${ratio(s.ops.worst.ratio)}` : '–'}; geometric mean ${ratio(s.ops.geomean)} over ${s.ops.measured} of ${s.ops.models})`, bad));
  }
  const zoo = r.models.filter((m) => m.group === 'zoo');
  if (zoo.length) {
    const bad = [...unmeasured(zoo), ...over(zoo, ZOO_TARGETS.zooEach)];
    lines.push(check(!bad.length, `zoo: no model slower than onnxruntime-web (worst: ${s.zoo.worst ? `${s.zoo.worst.name} ${ratio(s.zoo.worst.ratio)}` : '–'})`, bad));
    lines.push(check(s.zoo.measured === zoo.length && (s.zoo.geomean ?? Infinity) <= ZOO_TARGETS.zooGeomean,
      `zoo: geometric mean of the ratios <= ${ZOO_TARGETS.zooGeomean} (${ratio(s.zoo.geomean)} over ${s.zoo.measured} of ${zoo.length})`, unmeasured(zoo)));
  }
  return lines;
}

export function zooMarkdownReport(r: SuiteResult): string {
  const o = r.options, s = r.summary.zoo ?? zooSummary(r.models);
  const out = [
    `# onnx2wasm benchmark: zoo and single operators, ${r.date}`,
    '',
    `${r.machine.cpu} (${r.machine.cores} cores, load average ${loadText(r)}), Node ${r.machine.node}, ${r.machine.platform}. ` +
      `onnx2wasm ${r.versions.onnx2wasm} (target ${o.target}) against onnxruntime-web ${r.versions['onnxruntime-web']} ` +
      `(wasm backend, SIMD, 1 thread) and onnxruntime-node ${r.versions['onnxruntime-node']} (native CPU, 1 thread).`,
    '',
    `Models: ${o.models}${o.filter ? ` (filter /${o.filter}/)` : ''}, built by the suite with seeded random weights and inputs ` +
      `(benchmarks/models/zoo.ts, benchmarks/models/single-ops.ts). Latency: median of ${o.runs} runs after ${o.warmup} warm-up, ` +
      `the engines interleaved in one process. Ratios are onnx2wasm / onnxruntime-web: below 1 is better; ✗ marks a row above ` +
      `its target (single op ${ZOO_TARGETS.singleOp}, zoo ${ZOO_TARGETS.zooEach}). Max diff: largest |onnx2wasm - onnxruntime-node| over the outputs.`,
    '',
    zooTable(r),
    '',
  ];
  if (s.ops.models) out.push(`**Single operators: worst ratio ${s.ops.worst ? `${ratio(s.ops.worst.ratio)} (${s.ops.worst.name})` : '–'}, geometric mean ${ratio(s.ops.geomean)}** over ${s.ops.measured} of ${s.ops.models} (target: every one <= ${ZOO_TARGETS.singleOp}).`, '');
  if (s.zoo.models) out.push(`**Zoo: geometric mean ${ratio(s.zoo.geomean)}, worst ${s.zoo.worst ? `${ratio(s.zoo.worst.ratio)} (${s.zoo.worst.name})` : '–'}** over ${s.zoo.measured} of ${s.zoo.models} (targets: geometric mean <= ${ZOO_TARGETS.zooGeomean}, none > ${ZOO_TARGETS.zooEach}).`, '');
  if (r.summary.mismatches.length) out.push(`**Outputs differ from onnxruntime-node:** ${r.summary.mismatches.join(', ')}.`, '');
  out.push('## Acceptance (issue 10, the points the suite measures)', '', ...zooAcceptance(r));
  const problems = problemList(r);
  if (problems.length) out.push('', '## Problems', '', ...problems);
  return out.join('\n') + '\n';
}
