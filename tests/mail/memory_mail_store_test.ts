import { MemoryMailStore } from "../../mail/memory_mail_store.ts";
import { mailStoreContract } from "./_mail_store_contract.ts";

mailStoreContract("MemoryMailStore", () => {
  const stores: MemoryMailStore[] = [];
  return Promise.resolve({
    durable: false,
    open(options?: { maxMessageSize?: number }) {
      const store = new MemoryMailStore(options);
      stores.push(store);
      return store;
    },
    async cleanup() {
      for (const store of stores) await store.close();
    },
  });
});
