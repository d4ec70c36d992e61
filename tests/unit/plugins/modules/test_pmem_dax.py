from ansible_collections.pmem.optane.plugins.modules import pmem_dax
from uthelper import UTHelper

test_module = UTHelper.from_module(pmem_dax, __file__).test
