from ansible_collections.pmem.optane.plugins.modules import pmem_namespace
from uthelper import UTHelper

test_module = UTHelper.from_module(pmem_namespace, __file__).test
