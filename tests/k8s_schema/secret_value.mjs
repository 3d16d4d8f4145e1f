// Prints the decoded value of data[KEY] of the Secret whose name starts with
// NAME_PREFIX in a rendered multi-document YAML file (check-manifests).
//   node secret_value.mjs FILE NAME_PREFIX KEY
import fs from "node:fs";
import YAML from "yaml";

const [file, prefix, key] = process.argv.slice(2);
for (const doc of YAML.parseAllDocuments(fs.readFileSync(file, "utf8"))) {
  const o = doc.toJS();
  if (o?.kind === "Secret" && o.metadata?.name?.startsWith(prefix) && o.data?.[key] !== undefined) {
    process.stdout.write(Buffer.from(o.data[key].replace(/\s/g, ""), "base64").toString("utf8"));
    process.exit(0);
  }
}
console.error(`${file}: no Secret ${prefix}* with data.${key}`);
process.exit(1);
