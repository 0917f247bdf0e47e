// The ftp-srv adapter runs only on the ftp-srv release its patches were written against: any
// other installed version stops the FTP door at start with a message that says what to do.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCodes, isMogError } from '../../src/errors.ts';
import { checkFtpSrvVersion, FTP_SRV_VERSION, installedFtpSrvVersion } from '../../src/ftp/ftp-srv-adapter.ts';

describe('ftp-srv version check', () => {
  test('the installed ftp-srv is the one the adapter patches', () => {
    assert.equal(FTP_SRV_VERSION, '4.6.3');
    assert.equal(installedFtpSrvVersion(), FTP_SRV_VERSION);
    assert.doesNotThrow(() => checkFtpSrvVersion(installedFtpSrvVersion()));
  });

  for (const other of ['4.6.4', '4.6.2', '5.0.0', '4.6.3-beta.1']) {
    test(`ftp-srv ${other} is refused with a clear error`, () => {
      assert.throws(
        () => checkFtpSrvVersion(other),
        (err: unknown) => {
          assert.ok(isMogError(err, ErrorCodes.BAD_CONFIG), 'a coded configuration error');
          assert.match(
            (err as Error).message,
            new RegExp(`^ftp-srv ${other.replace(/\./g, '\\.')} is installed, but mogftp patches the internals of ftp-srv 4\\.6\\.3 and runs on no other version: install ftp-srv@4\\.6\\.3`),
          );
          return true;
        },
      );
    });
  }
});
