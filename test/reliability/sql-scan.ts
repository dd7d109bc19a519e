/**
 * A static check that SQL text is never built from run-time values: every `${…}` inside the text given to
 * `query()` (pg), `sql.raw()` and friends must be vetted constant — a literal type (a table name out of a fixed
 * union), a number (a placeholder index), a module constant made only of such parts, or a call of a local helper that
 * only pastes its own literal arguments. Values go in as `$n` parameters. What cannot be proven is listed, for a person
 * to vet (`VETTED` in the test names each such fragment and why it is safe).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const QUERY_METHODS = new Set(['query', 'raw', 'unsafe', 'execute']);

export interface Interpolation {
  file: string;
  line: number;
  /** The interpolated expression, as written. */
  expression: string;
  /** Why it could not be proven constant. */
  reason: string;
}

export interface ScanResult {
  files: number;
  statements: number;
  interpolations: number;
  /** Interpolations the checker could not prove constant. */
  unproven: Interpolation[];
  /** Query calls whose text is not a literal at all (a variable, a call). */
  dynamicText: Interpolation[];
}

/** Scans the product's source (src, handlers, connectors, scripts) as git lists it. */
export function scanSql(): ScanResult {
  const files = execFileSync('git', ['ls-files', 'src', 'handlers', 'connectors', 'scripts', 'bin'], {
    cwd: ROOT,
    encoding: 'utf8',
  })
    .split('\n')
    .filter((f) => f.endsWith('.ts'))
    .map((f) => `${ROOT}${f}`);
  const program = ts.createProgram(files, {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    allowImportingTsExtensions: true,
    noEmit: true,
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const result: ScanResult = {
    files: files.length,
    statements: 0,
    interpolations: 0,
    unproven: [],
    dynamicText: [],
  };
  /** The declaration a name refers to, through imports. */
  const declarationOf = (node: ts.Node): ts.Declaration | undefined => {
    let symbol = checker.getSymbolAtLocation(node);
    if (symbol && symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
    return symbol?.valueDeclaration ?? symbol?.declarations?.[0];
  };
  const where = (node: ts.Node) => {
    const sf = node.getSourceFile();
    return {
      file: sf.fileName.replace(ROOT, ''),
      line: sf.getLineAndCharacterOfPosition(node.getStart()).line + 1,
    };
  };

  /** Whether an expression can only ever evaluate to text fixed in the source. */
  const isConstant = (expr: ts.Expression, depth = 0): string | undefined => {
    if (depth > 8) return 'too deep to follow';
    const e = ts.isParenthesizedExpression(expr) ? expr.expression : expr;
    const type = checker.getTypeAtLocation(e);
    const literalOnly = (t: ts.Type): boolean =>
      t.isUnion()
        ? t.types.every(literalOnly)
        : t.isStringLiteral() ||
          t.isNumberLiteral() ||
          (t.flags &
            (ts.TypeFlags.NumberLike |
              ts.TypeFlags.BooleanLike |
              ts.TypeFlags.Undefined |
              ts.TypeFlags.Null)) !==
            0;
    if (literalOnly(type)) return undefined;
    if (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) return undefined;
    if (ts.isTemplateExpression(e)) {
      for (const span of e.templateSpans) {
        const why = isConstant(span.expression, depth + 1);
        if (why) return why;
      }
      return undefined;
    }
    if (ts.isConditionalExpression(e))
      return isConstant(e.whenTrue, depth + 1) ?? isConstant(e.whenFalse, depth + 1);
    if (ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.PlusToken)
      return isConstant(e.left, depth + 1) ?? isConstant(e.right, depth + 1);
    if (ts.isIdentifier(e) || ts.isPropertyAccessExpression(e)) {
      const resolved = declarationOf(e);
      if (resolved && ts.isVariableDeclaration(resolved) && resolved.initializer) {
        const list = resolved.parent;
        if (ts.isVariableDeclarationList(list) && list.flags & ts.NodeFlags.Const)
          return isConstant(resolved.initializer, depth + 1);
      }
      if (resolved && ts.isParameter(resolved)) return `a parameter of type ${checker.typeToString(type)}`;
      return `of type ${checker.typeToString(type)}`;
    }
    if (ts.isCallExpression(e)) {
      // A local helper that pastes its own (literal) arguments into fixed text: both must hold.
      for (const arg of e.arguments) {
        const why = isConstant(arg, depth + 1);
        if (why) return `an argument ${why}`;
      }
      const resolved = declarationOf(e.expression);
      const fn =
        resolved &&
        ts.isVariableDeclaration(resolved) &&
        resolved.initializer &&
        ts.isArrowFunction(resolved.initializer)
          ? resolved.initializer
          : resolved && ts.isFunctionDeclaration(resolved)
            ? resolved
            : undefined;
      if (!fn?.body) return 'a call of a function the scan cannot see';
      const only = ts.isBlock(fn.body) && fn.body.statements.length === 1 ? fn.body.statements[0] : undefined;
      const returned = ts.isBlock(fn.body)
        ? only && ts.isReturnStatement(only)
          ? only.expression
          : undefined
        : fn.body;
      if (!returned) return 'a call of a function with a body (not a single expression)';
      const params = new Set(fn.parameters.map((p) => p.name.getText()));
      const onlyParamsOrConstants = (x: ts.Expression): string | undefined => {
        const inner = ts.isParenthesizedExpression(x) ? x.expression : x;
        if (ts.isIdentifier(inner) && params.has(inner.text)) return undefined;
        if (ts.isTemplateExpression(inner)) {
          for (const span of inner.templateSpans) {
            const why = onlyParamsOrConstants(span.expression);
            if (why) return why;
          }
          return undefined;
        }
        return isConstant(inner, depth + 1);
      };
      return onlyParamsOrConstants(returned);
    }
    return `of type ${checker.typeToString(type)}`;
  };

  for (const sf of program.getSourceFiles()) {
    if (!sf.fileName.startsWith(ROOT) || sf.fileName.includes('node_modules')) continue;
    const visit = (node: ts.Node) => {
      if (ts.isCallExpression(node) && node.arguments[0]) {
        const callee = node.expression;
        const name = ts.isPropertyAccessExpression(callee) ? callee.name.text : '';
        const text = node.arguments[0];
        const textType = checker.getTypeAtLocation(text);
        const isText = (textType.flags & ts.TypeFlags.StringLike) !== 0 || ts.isTemplateExpression(text);
        if (QUERY_METHODS.has(name) && isText) {
          result.statements++;
          if (ts.isTemplateExpression(text)) {
            for (const span of text.templateSpans) {
              result.interpolations++;
              const why = isConstant(span.expression);
              if (why)
                result.unproven.push({
                  ...where(span.expression),
                  expression: span.expression.getText(),
                  reason: why,
                });
            }
          } else if (!ts.isStringLiteral(text) && !ts.isNoSubstitutionTemplateLiteral(text)) {
            const why = isConstant(text);
            if (why)
              result.dynamicText.push({
                ...where(text),
                expression: text.getText().slice(0, 80),
                reason: why,
              });
          }
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return result;
}
