// Fails early, with what to do, when the test suite would run on a Node without node:sqlite or type stripping.
const [major, minor] = process.versions.node.split(".").map(Number);
if (!(major > 22 || (major === 22 && minor >= 18))) {
  console.error(`The test suite needs Node >=22.18 (this is ${process.version}). Run \`npm install\` first: it brings Node 24 as a dev dependency that npm scripts use.`);
  process.exit(2);
}
