// The layer rule (issue 18): a module in src/ may import only from its own layer or a lower one.
// Which file sits in which layer is eslint.config.js's table, not this file's: this only reads
// it. Type-only imports count too, since they still tie a lower layer's shape to a higher one.
// Packages (bare specifiers) are not checked; only relative paths into src/ are.
import path from 'node:path';

/**
 * @typedef {object} Layer
 * @property {string} name
 * @property {string[]} members  paths relative to the repository: a folder ('src/ftp/') or a file ('src/log.ts')
 * @property {boolean} [isolated]  members may not import one another (the doors: `mogftp ftp` must not load dav)
 */

/** The layer and member a repository-relative path belongs to, or undefined. */
function placeOf(layers, rel) {
  for (const [rank, layer] of layers.entries()) {
    for (const member of layer.members) {
      if (member.endsWith('/') ? rel.startsWith(member) : rel === member) return { rank, layer, member };
    }
  }
  return undefined;
}

const toPosix = (p) => p.split(path.sep).join('/');

/** @type {import('eslint').Rule.RuleModule} */
export const layersRule = {
  meta: {
    type: 'problem',
    docs: { description: 'No import from a higher layer, none between isolated peers, and every src/ file has a layer.' },
    schema: [
      {
        type: 'object',
        properties: { root: { type: 'string' }, layers: { type: 'array' } },
        required: ['root', 'layers'],
        additionalProperties: false,
      },
    ],
    messages: {
      upward: "{{from}} (layer '{{fromLayer}}') imports {{to}} from the higher layer '{{toLayer}}'.",
      peer: "{{from}} imports {{to}}: members of the layer '{{layer}}' stay independent of one another.",
      unplaced: "{{file}} is in no layer: add it to the LAYERS table in eslint.config.js.",
    },
  },
  create(context) {
    const { root, layers } = context.options[0];
    const file = toPosix(path.relative(root, context.filename));
    if (!file.startsWith('src/')) return {};
    const from = placeOf(layers, file);
    if (!from) {
      return { Program: (node) => context.report({ node, messageId: 'unplaced', data: { file } }) };
    }
    const check = (node, source) => {
      if (!source || typeof source.value !== 'string' || !source.value.startsWith('.')) return;
      const to = toPosix(path.relative(root, path.resolve(path.dirname(context.filename), source.value)));
      const target = placeOf(layers, to);
      if (!target) return; // outside src/ or not yet placed: its own file reports that
      const data = { from: file, to, fromLayer: from.layer.name, toLayer: target.layer.name, layer: from.layer.name };
      if (target.rank < from.rank) context.report({ node, messageId: 'upward', data });
      else if (target.rank === from.rank && from.layer.isolated && target.member !== from.member)
        context.report({ node, messageId: 'peer', data });
    };
    return {
      ImportDeclaration: (node) => check(node, node.source),
      ExportNamedDeclaration: (node) => check(node, node.source),
      ExportAllDeclaration: (node) => check(node, node.source),
      ImportExpression: (node) => check(node, node.source.type === 'Literal' ? node.source : undefined),
    };
  },
};
