// The CPython stub that lets the wheel's _pywrap_tensorflow_internal.so load outside Python.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  isPythonSymbol,
  parseUndefinedSymbols,
  pythonStubSource,
} from '../../../infra/tensorflow/python-stub';

const nmOutput = `
                 U PyArg_ParseTuple
                 U PyBaseObject_Type
                 U _Py_NoneStruct
                 U PyExc_TypeError
                 U memcpy@GLIBC_2.14
                 w _ITM_deregisterTMCloneTable
                 U _ZN10tensorflow10DEVICE_CPUE
0000000000001000 T TF_NewStatus@@tensorflow
`;

void describe('python stub', () => {
  void it('parses undefined symbols without version suffixes, ignoring defined ones', () => {
    const syms = parseUndefinedSymbols(nmOutput);
    assert.ok(syms.includes('memcpy'));
    assert.ok(syms.includes('PyArg_ParseTuple'));
    assert.ok(!syms.some((s) => s.startsWith('TF_')));
  });

  void it('keeps only CPython names', () => {
    const py = parseUndefinedSymbols(nmOutput).filter(isPythonSymbol);
    assert.deepEqual(py, [
      'PyArg_ParseTuple',
      'PyBaseObject_Type',
      'PyExc_TypeError',
      '_Py_NoneStruct',
    ]);
  });

  void it('defines data symbols as storage and functions as aborting stubs', () => {
    const src = pythonStubSource([
      'PyArg_ParseTuple',
      'PyBaseObject_Type',
      'PyExc_TypeError',
      '_Py_NoneStruct',
    ]);
    assert.match(src, /^void \*PyBaseObject_Type\[32\];$/m);
    assert.match(src, /^void \*PyExc_TypeError\[32\];$/m);
    assert.match(src, /^void \*_Py_NoneStruct\[32\];$/m);
    assert.match(
      src,
      /^void PyArg_ParseTuple\(void\) \{ agp_python_stub_called\("PyArg_ParseTuple"\); \}$/m,
    );
  });
});
