/**
 * The exit codes `inetkit get` uses for FTP failures, apart from the rest
 * of `get` so that the table costs no import of the FTP code.
 *
 * @module
 */

/** Exit codes of FTP failures (curl's numbers). */
export const GET_FTP_EXIT = {
  /** Access to the remote directory or resource was denied (a refused CWD). */
  accessDenied: 9,
  /** The server's PASV or EPSV reply did not parse. */
  weirdPasv: 13,
  /** The transfer ended early. */
  partialFile: 18,
  /** RETR or the listing failed. */
  retrFailed: 19,
  /** The server refused the upload (STOR, APPE). */
  uploadFailed: 25,
  /** The local file to upload could not be read. */
  readError: 26,
  /** The server refused EPRT and PORT. */
  portFailed: 30,
  /** A resume offset the server refused or the file does not reach. */
  resumeFailed: 36,
  /** `--ssl-reqd` and the server offers no TLS (or refuses to protect data). */
  sslRequired: 64,
  /** The login was refused. */
  loginDenied: 67,
  /** The remote file does not exist. */
  fileNotFound: 78,
} as const;
